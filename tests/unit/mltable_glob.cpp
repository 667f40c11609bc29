// MLTable glob patterns: a table of pattern × path cases (every syntax element, UTF-8, '**' at
// every position) and every compile error with its offset.
#include "mltable/detail/glob.hpp"

#include <catch2/catch.hpp>

using dataport::mltable_detail::glob;
using dataport::mltable_detail::glob_error;
using dataport::mltable_detail::has_wildcard;

namespace {

struct match_case {
  const char* pattern;
  const char* path;
  bool expected;
};

constexpr match_case cases[] = {
    {"*.csv", "a.csv", true},
    {"*.csv", "train-2024.csv", true},
    {"*.csv", "a.csvx", false},
    {"*.csv", "dir/a.csv", false},  // '*' stays within one segment
    {"*", "a/b", false},
    {"*", "anything", true},
    {"data/*.csv", "data/a.csv", true},
    {"data/*.csv", "data/sub/a.csv", false},
    {"data/*.csv", "other/a.csv", false},
    {"**/*.csv", "a.csv", true},  // '**' matches zero segments
    {"**/*.csv", "x/y/z/a.csv", true},
    {"**/*.csv", "x/y/z/a.txt", false},
    {"a/**/b.csv", "a/b.csv", true},
    {"a/**/b.csv", "a/x/b.csv", true},
    {"a/**/b.csv", "a/x/y/b.csv", true},
    {"a/**/b.csv", "a/xb.csv", false},
    {"a/**/b.csv", "b/x/b.csv", false},
    {"**", "a/b/c", true},
    {"**/**/**/x", "x", true},
    {"**/**/**/x", "a/b/c/d/e/x", true},
    {"**/**/**/x", "a/b/c/d/e/y", false},
    {"logs/**/2024-0[1-6]-*.json", "logs/eu/west/2024-03-17.json", true},
    {"logs/**/2024-0[1-6]-*.json", "logs/2024-07-01.json", false},
    {"?.csv", "a.csv", true},
    {"?.csv", "ab.csv", false},
    {"?.csv", ".csv", false},
    {"?.csv", "\xc3\xbc.csv", true},      // one code point of two bytes
    {"?.csv", "\xe2\x82\xac.csv", true},  // three bytes
    {"??.csv", "\xc3\xbc.csv", false},
    {"[abc].csv", "b.csv", true},
    {"[abc].csv", "d.csv", false},
    {"[a-c].csv", "c.csv", true},
    {"[a-c].csv", "C.csv", false},  // case-sensitive, like blob names
    {"[!a-c].csv", "d.csv", true},
    {"[!a-c].csv", "a.csv", false},
    {"[^a].csv", "b.csv", true},
    {"[^a].csv", "a.csv", false},
    {"[]a].csv", "].csv", true},
    {"[]a].csv", "a.csv", true},
    {"[a-].csv", "-.csv", true},
    {"[0-9a-f][0-9a-f]", "7e", true},
    {"[0-9a-f][0-9a-f]", "7g", false},
    {"[\xc3\xa0-\xc3\xbf]x", "\xc3\xbcx", true},  // a range of code points
    {"img[0-9][0-9].jpg", "img07.jpg", true},
    {"img[0-9][0-9].jpg", "img7.jpg", false},
    {"\\*.csv", "*.csv", true},
    {"\\*.csv", "a.csv", false},
    {"a\\?", "a?", true},
    {"a\\?", "ab", false},
    {"*a*b*c", "xaybzc", true},
    {"*a*b*c", "abc", true},
    {"*a*b*c", "acb", false},
    {"*.tar.gz", "x.tar.gz", true},
    {"*.tar.gz", "x.tar.gz.part", false},
    {"exact.csv", "exact.csv", true},
    {"exact.csv", "exact.csv2", false},
};

std::size_t error_offset(const char* pattern) {
  try {
    (void)glob::compile(pattern);
  } catch (const glob_error& e) {
    return e.offset();
  }
  FAIL("pattern '" << pattern << "' compiled but should not have");
  return 0;
}

std::string error_text(const char* pattern) {
  try {
    (void)glob::compile(pattern);
  } catch (const glob_error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("glob patterns match the table of cases", "[mltable][glob]") {
  for (const auto& c : cases) {
    INFO("pattern '" << c.pattern << "' path '" << c.path << "'");
    CHECK(glob::compile(c.pattern).matches(c.path) == c.expected);
  }
}

TEST_CASE("glob knows when matches can lie below one segment", "[mltable][glob]") {
  CHECK_FALSE(glob::compile("*.csv").spans_segments());
  CHECK_FALSE(glob::compile("img[0-9].jpg").spans_segments());
  CHECK(glob::compile("*/x.csv").spans_segments());
  CHECK(glob::compile("**").spans_segments());
  CHECK(glob::compile("a/b").spans_segments());
}

TEST_CASE("glob wildcard detection honours escapes", "[mltable][glob]") {
  CHECK(has_wildcard("a*.csv"));
  CHECK(has_wildcard("a?.csv"));
  CHECK(has_wildcard("[ab].csv"));
  CHECK_FALSE(has_wildcard("plain.csv"));
  CHECK_FALSE(has_wildcard("a\\*.csv"));
  CHECK(has_wildcard("a\\*b*.csv"));
}

TEST_CASE("glob compile errors name the problem and its offset", "[mltable][glob]") {
  CHECK(error_offset("data/[abc.csv") == 5);
  CHECK_THAT(error_text("data/[abc.csv"), Catch::Contains("unclosed '['"));
  CHECK(error_offset("[a/b]") == 0);  // a class cannot contain '/'
  CHECK(error_offset("x[z-a]") == 2);
  CHECK_THAT(error_text("x[z-a]"), Catch::Contains("reversed range 'z-a'"));
  CHECK(error_offset("ab**") == 2);
  CHECK_THAT(error_text("ab**"), Catch::Contains("whole path segment"));
  CHECK(error_offset("a//b") == 2);
  CHECK_THAT(error_text("a//b"), Catch::Contains("empty path segment"));
  CHECK(error_offset("a/*/") == 3);
  CHECK_THAT(error_text("a/*/"), Catch::Contains("folder:"));
  CHECK(error_offset("a\\") == 1);
  CHECK_THAT(error_text(""), Catch::Contains("empty"));
  CHECK_THAT(error_text("[]"), Catch::Contains("unclosed"));
}
