#include "arachne/page.hpp"

#include "arachne/css.hpp"
#include "arachne/errors.hpp"

#include <stdexcept>

#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>

namespace arachne {

struct page::dom {
  htmlDocPtr doc = nullptr;
  ~dom() {
    if (doc != nullptr)
      xmlFreeDoc(doc);
  }
};

page::page(const crawl_request& req, const fetch_result& res, html_scan scan,
           std::vector<std::string> links)
  : req_(req), res_(res), scan_(std::move(scan)), links_(std::move(links)) {}

page::~page() = default;

const page::dom& page::document() const {
  if (!dom_) {
    dom_ = std::make_unique<dom>();
    auto body = res_.body.view();
    dom_->doc = htmlReadMemory(body.data(), static_cast<int>(body.size()), res_.final_url.c_str(),
                               res_.charset.empty() ? nullptr : res_.charset.c_str(),
                               HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING
                                 | HTML_PARSE_NONET | HTML_PARSE_COMPACT);
  }
  return *dom_;
}

namespace {

template <class F>
void with_xpath(htmlDocPtr doc, std::string_view expr, F&& f) {
  if (doc == nullptr)
    return;
  auto* ctx = xmlXPathNewContext(doc);
  if (ctx == nullptr)
    return;
  ctx->node = reinterpret_cast<xmlNodePtr>(doc); // (relative paths start at the document)
  std::string e{expr};
  auto* obj = xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(e.c_str()), ctx);
  if (obj != nullptr) {
    f(obj);
    xmlXPathFreeObject(obj);
  }
  xmlXPathFreeContext(ctx);
}

std::string take(xmlChar* s) {
  if (s == nullptr)
    return {};
  std::string out{reinterpret_cast<const char*>(s)};
  xmlFree(s);
  return out;
}

} // namespace

std::string page::xpath_string(std::string_view expr) const {
  std::string out;
  with_xpath(document().doc, expr, [&](xmlXPathObjectPtr obj) {
    if (obj->type == XPATH_NODESET) {
      if (obj->nodesetval != nullptr && obj->nodesetval->nodeNr > 0)
        out = take(xmlXPathCastNodeToString(obj->nodesetval->nodeTab[0]));
    } else {
      out = take(xmlXPathCastToString(obj));
    }
  });
  return out;
}

std::vector<std::string> page::xpath_all(std::string_view expr) const {
  std::vector<std::string> out;
  with_xpath(document().doc, expr, [&](xmlXPathObjectPtr obj) {
    if (obj->type == XPATH_NODESET && obj->nodesetval != nullptr) {
      for (int i = 0; i < obj->nodesetval->nodeNr; ++i)
        out.push_back(take(xmlXPathCastNodeToString(obj->nodesetval->nodeTab[i])));
    } else if (obj->type != XPATH_NODESET) {
      out.push_back(take(xmlXPathCastToString(obj)));
    }
  });
  return out;
}

namespace {

std::string xpath_of(std::string_view selector) {
  auto x = css_to_xpath(selector);
  if (!x)
    throw std::invalid_argument(error_text(x.error()));
  return std::move(*x);
}

} // namespace

std::string xpath_error(std::string_view expr) {
  std::string why;
  // (libxml2 reports through a per-thread handler: taken for this call only.)
  xmlSetStructuredErrorFunc(&why, [](void* out, xmlErrorPtr e) {
    auto& w = *static_cast<std::string*>(out);
    if (w.empty() && e != nullptr && e->message != nullptr) {
      w = e->message;
      while (!w.empty() && (w.back() == '\n' || w.back() == ' '))
        w.pop_back();
    }
  });
  std::string e{expr};
  auto* compiled = xmlXPathCompile(reinterpret_cast<const xmlChar*>(e.c_str()));
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  if (compiled != nullptr) {
    xmlXPathFreeCompExpr(compiled);
    return {};
  }
  return "XPath '" + e + "': " + (why.empty() ? std::string{"not an XPath 1.0 expression"} : why);
}

std::vector<std::string> page::css_all(std::string_view selector) const {
  return xpath_all(xpath_of(selector));
}

std::string page::css_string(std::string_view selector) const {
  return xpath_string(xpath_of(selector));
}

context::context(const page& p, const url_options& rules) : page_(p), rules_(rules) {
  auto b = parse_url(p.final_url().empty() ? p.url() : p.final_url(), rules);
  if (b)
    base_ = std::move(*b);
  if (!p.scan().base.empty() && b)
    if (auto declared = resolve_url(base_, p.scan().base, rules))
      base_ = std::move(*declared);
}

void context::follow(std::string_view href) {
  if (base_.str().empty())
    return;
  if (auto u = resolve_url(base_, href, rules_))
    followed_.push_back(u->str());
}

std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  auto put = [&](std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : s) {
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*'
          || c == '-' || c == '.' || c == '_') {
        out += static_cast<char>(c);
      } else if (c == ' ') {
        out += '+';
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
  };
  for (auto& [k, v] : fields) {
    if (!out.empty())
      out += '&';
    put(k);
    out += '=';
    put(v);
  }
  return out;
}

void context::follow(std::string_view href, follow_options opts) {
  if (opts.method == "GET") {
    opts.method.clear();
  } else if (!opts.method.empty() && opts.method != "POST") {
    throw std::invalid_argument("follow: method '" + opts.method
                                + "' is not one a crawl sends (GET or POST)");
  }
  if (opts.method.empty()) {
    opts.body.clear();
    opts.body_type.clear();
  } else if (opts.body_type.empty()) {
    opts.body_type = "application/x-www-form-urlencoded";
  }
  if (base_.str().empty())
    return;
  if (auto u = resolve_url(base_, href, rules_))
    followed_with_.emplace_back(u->str(), std::move(opts));
}

std::string_view page::data(std::string_view key) const noexcept {
  for (auto& [k, v] : req_.opts().user_data)
    if (k == key)
      return v;
  return {};
}

const page_handler* page_program::for_label(std::string_view label) const {
  if (!label.empty())
    if (auto i = routes.find(label); i != routes.end())
      return &i->second;
  return handler ? &handler : nullptr;
}

void context::emit(item it) {
  if (it.url.empty())
    it.url = page_.url();
  emitted_.push_back(std::move(it));
}

} // namespace arachne
