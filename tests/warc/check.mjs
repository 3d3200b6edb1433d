// Reads WARC files with warcio (an independent implementation of ISO 28500)
// and checks every record: framing, required headers, and both sha1 digests.
// Prints a JSON summary; exits 1 if anything is wrong.
// Usage: node check.mjs FILE...
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import { WARCParser } from "warcio";

function base32(bytes) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0, out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  while (out.length % 8) out += "=";
  return out;
}

const sha1 = (bytes) => "sha1:" + base32(createHash("sha1").update(bytes).digest());

function indexOfBlankLine(bytes) {
  for (let i = 0; i + 3 < bytes.length; i++)
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i + 4;
  return -1;
}

const summary = { files: 0, records: 0, types: {}, problems: [], responses: [], statuses: {} };
const responseIds = new Set();
const concurrentTo = [];
const problem = (file, what) => summary.problems.push(`${file}: ${what}`);

for (const file of process.argv.slice(2)) {
  summary.files++;
  let first = true;
  // Pass 1: the raw blocks, for the digests.
  for await (const record of new WARCParser(createReadStream(file), { parseHttp: false })) {
    summary.records++;
    const type = record.warcType;
    summary.types[type] = (summary.types[type] || 0) + 1;
    if (first && type !== "warcinfo") problem(file, "does not start with a warcinfo record");
    first = false;
    for (const h of ["WARC-Record-ID", "WARC-Date", "WARC-Type"])
      if (!record.warcHeader(h)) problem(file, `${type} record without ${h}`);
    const block = await record.readFully(false);
    if (Number(record.warcHeader("Content-Length")) !== block.length)
      problem(file, `${type} record: Content-Length does not match the block`);
    const blockDigest = record.warcHeader("WARC-Block-Digest");
    if (blockDigest && blockDigest !== sha1(block))
      problem(file, `${type} ${record.warcTargetURI}: bad WARC-Block-Digest`);
    if (type === "response" || type === "request") {
      if (!record.warcTargetURI) problem(file, `${type} record without WARC-Target-URI`);
      if (!blockDigest) problem(file, `${type} record without WARC-Block-Digest`);
    }
    if (type === "response") {
      responseIds.add(record.warcHeader("WARC-Record-ID"));
      summary.responses.push(record.warcTargetURI);
      const at = indexOfBlankLine(block);
      if (at < 0) problem(file, `response ${record.warcTargetURI}: no end of HTTP headers`);
      else if (record.warcHeader("WARC-Payload-Digest") !== sha1(block.subarray(at)))
        problem(file, `response ${record.warcTargetURI}: bad WARC-Payload-Digest`);
      if (!record.warcHeader("WARC-IP-Address")) problem(file, "response without WARC-IP-Address");
    }
    if (type === "revisit") {
      // WARC 1.1 section 6.7: a revisit is a capture too (a request may be
      // concurrent to it); Arachne's hold the response head alone.
      responseIds.add(record.warcHeader("WARC-Record-ID"));
      const profile = record.warcHeader("WARC-Profile") || "";
      if (!profile.startsWith("http://netpreserve.org/warc/1.1/revisit/"))
        problem(file, `revisit ${record.warcTargetURI}: bad WARC-Profile ${profile}`);
      if (!record.warcTargetURI) problem(file, "revisit record without WARC-Target-URI");
      if (!blockDigest) problem(file, "revisit record without WARC-Block-Digest");
      if (indexOfBlankLine(block) !== block.length)
        problem(file, `revisit ${record.warcTargetURI}: the block is not an HTTP head alone`);
      if (profile.endsWith("/identical-payload-digest") && !record.warcHeader("WARC-Payload-Digest"))
        problem(file, `revisit ${record.warcTargetURI}: identical-payload-digest without WARC-Payload-Digest`);
    }
    if (type === "request") concurrentTo.push(record.warcHeader("WARC-Concurrent-To"));
  }
  // Pass 2: warcio's own HTTP parsing of the same records.
  for await (const record of new WARCParser(createReadStream(file))) {
    if (record.warcType !== "response") continue;
    const status = record.httpHeaders && record.httpHeaders.statusCode;
    if (!status) problem(file, `response ${record.warcTargetURI}: warcio found no HTTP status`);
    summary.statuses[status] = (summary.statuses[status] || 0) + 1;
    const payload = await record.readFully(false);
    const length = record.httpHeaders.headers.get("Content-Length");
    if (Number(length) !== payload.length)
      problem(file, `response ${record.warcTargetURI}: HTTP Content-Length ${length} but ${payload.length} payload bytes`);
  }
}
for (const id of concurrentTo)
  if (!responseIds.has(id)) summary.problems.push(`a request's WARC-Concurrent-To ${id} names no response or revisit`);
if (summary.records === 0) summary.problems.push("no records");
console.log(JSON.stringify(summary));
process.exit(summary.problems.length ? 1 : 0);
