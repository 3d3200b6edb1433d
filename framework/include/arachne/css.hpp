#pragma once

#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace arachne {

/// Translates a CSS selector into the XPath 1.0 expression that selects the
/// same elements of an HTML document, as Scrapy's selectors do: type, `*`,
/// `#id`, `.class`, attribute tests (`[a]`, `=`, `~=`, `|=`, `^=`, `$=`, `*=`),
/// the combinators (descendant, `>`, `+`, `~`), groups (`a, b`), the
/// structural pseudo-classes (`:first-child`, `:last-child`, `:only-child`,
/// `:nth-child(an+b)`, `:nth-last-child()`, `:first-of-type`,
/// `:last-of-type`, `:only-of-type`, `:nth-of-type()`, `:nth-last-of-type()`,
/// `:empty`, `:root`), `:not(simple)`, and at the end the pseudo-elements
/// `::text` (the text nodes) and `::attr(NAME)` (an attribute's value).
/// Element and attribute names are matched in lower case, as the HTML
/// parser writes them. Fails with the reason for anything else.
caf::expected<std::string> css_to_xpath(std::string_view selector);

} // namespace arachne
