// Content-Type (RFC 2045 §5.1), Content-Disposition (RFC 2183) and their parameters, including
// RFC 2231 extended values (charset, language, continuations) and the RFC 2047 encoded words that
// some mailers put in quoted parameter values.
//
// Parsing never throws: header values in the wild are broken in every possible way, and a parser
// that gives up loses the boundary or the file name the user wants. What can be recovered is kept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"

namespace mailwire::mime {

/// One `name=value` parameter.
struct parameter {
    std::string name;   ///< lower-case, without the RFC 2231 `*` / `*N*` decoration
    std::string value;  ///< decoded to UTF-8: quotes removed, RFC 2231 segments joined and converted
                        ///< from their charset, RFC 2047 encoded words decoded

    /// Field-by-field equality.
    friend bool operator==(const parameter&, const parameter&) = default;
};

/// A parsed Content-Type. The defaults are the RFC 2045 §5.2 default (text/plain).
struct MAILWIRE_API content_type {
    std::string type = "text";      ///< lower-case
    std::string subtype = "plain";  ///< lower-case
    std::vector<parameter> params;  ///< in header order, one entry per distinct name

    /// Value of parameter `name` (case-insensitive), "" when absent.
    [[nodiscard]] std::string param(std::string_view name) const;
    /// True when a parameter `name` is present (even with an empty value).
    [[nodiscard]] bool has_param(std::string_view name) const;
    /// Case-insensitive match: is("text") any text; is("text","html") exactly text/html.
    [[nodiscard]] bool is(std::string_view t, std::string_view s = {}) const;
    /// True for multipart/*.
    [[nodiscard]] bool is_multipart() const { return type == "multipart"; }
    /// message/rfc822 and message/global (RFC 6532): an encapsulated message the parser descends into.
    [[nodiscard]] bool is_message() const;
    /// "type/subtype", e.g. "text/plain".
    [[nodiscard]] std::string mime_type() const;
    /// Sets (or replaces) a parameter; `name` is lower-cased.
    void set_param(std::string_view name, std::string value);

    /// Field-by-field equality.
    friend bool operator==(const content_type&, const content_type&) = default;
};

/// Parses a Content-Type field value (the text after "Content-Type:"; may be folded).
/// Never throws. Tolerates comments, missing `;` between parameters, unquoted values with
/// tspecials (`boundary=--=_x`), unterminated quotes, duplicate parameters (first wins, an RFC 2231
/// value beats a plain one), and RFC 2231 segments out of order or partly missing.
/// A value without a valid `type/subtype` yields text/plain (RFC 2045 §5.2) with the parameters it
/// could read; a bare "text" means text/plain, "multipart" multipart/mixed (RFC 2046 §5.1.3).
MAILWIRE_API content_type parse_content_type(std::string_view value);

/// A parsed Content-Disposition (RFC 2183).
struct MAILWIRE_API content_disposition {
    std::string kind;  ///< lower-case: "attachment", "inline", another token, or "" when absent/unparseable
    std::vector<parameter> params;  ///< in header order, one entry per distinct name

    /// Value of parameter `name` (case-insensitive), "" when absent.
    [[nodiscard]] std::string param(std::string_view name) const;
    /// The `filename` parameter, "" when absent. Not sanitised: callers writing files must strip
    /// directory parts themselves.
    [[nodiscard]] std::string filename() const;
    /// True for "attachment".
    [[nodiscard]] bool is_attachment() const { return kind == "attachment"; }
    /// True for "inline".
    [[nodiscard]] bool is_inline() const { return kind == "inline"; }

    /// Field-by-field equality.
    friend bool operator==(const content_disposition&, const content_disposition&) = default;
};

/// Parses a Content-Disposition field value. Never throws; same tolerance as parse_content_type.
/// A value that starts with a parameter (`filename=x`) gives kind "" and keeps the parameter.
MAILWIRE_API content_disposition parse_content_disposition(std::string_view value);

/// Parses just a parameter list (`; a=b; c*=utf-8''x`) as found after a type or disposition token.
MAILWIRE_API std::vector<parameter> parse_parameters(std::string_view list);

/// Serialises a parameter list for a header, each parameter preceded by "; ", on one line:
/// `; charset=utf-8; name="a b.txt"`. ASCII values are quoted when they are not tokens;
/// non-ASCII values and values with control characters use RFC 2231 (`name*=utf-8''%E2%82%AC`),
/// and values that would make a long line are split into RFC 2231 continuations
/// (`name*0*=utf-8''...; name*1*=...` or quoted `name*0="..."`). Folding is left to the caller
/// (see format_parameters_folded for a ready-folded form). Values are always written safely (any
/// control character forces the RFC 2231 form); a parameter name that is not an RFC 2045 token
/// (empty, or with a space, control, CR/LF or tspecial such as ';' or '=') throws mailwire::error
/// (invalid_argument), since it would inject parameters or lines.
MAILWIRE_API std::string format_parameters(const std::vector<parameter>& params);

/// As format_parameters, but folded with CRLF SP before a parameter whenever it would push the
/// line past 76 characters. `first_line_used` is how much of the first line is already taken
/// (e.g. "Content-Type: text/plain" = 24). Same parameter name check as format_parameters.
MAILWIRE_API std::string format_parameters_folded(const std::vector<parameter>& params, std::size_t first_line_used);

/// "type/subtype" + format_parameters(params). Throws mailwire::error (invalid_argument) when the
/// type or subtype is not an RFC 2045 token, or as format_parameters.
MAILWIRE_API std::string format_content_type(const content_type& ct);
/// kind + format_parameters(params). Throws mailwire::error (invalid_argument) when a non-empty
/// kind is not an RFC 2045 token, or as format_parameters.
MAILWIRE_API std::string format_content_disposition(const content_disposition& cd);

}  // namespace mailwire::mime
