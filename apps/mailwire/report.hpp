// A small aligned "label  value" text report that never exceeds a given width.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mailwire::cli {

/// Splits `text` into lines of at most `width` columns, breaking at spaces where possible.
std::vector<std::string> wrap(const std::string& text, std::size_t width);

class text_report {
public:
    explicit text_report(std::size_t width, std::size_t label_width = 16, std::size_t indent = 2)
        : width_(width), label_width_(label_width), indent_(indent) {}

    /// An unindented heading line (wrapped if needed).
    void heading(const std::string& text);
    /// "  label           value", the value wrapped and continued under itself.
    void field(const std::string& label, const std::string& value);
    /// Several values under one label, one per line.
    void fields(const std::string& label, const std::vector<std::string>& values);
    void blank();
    [[nodiscard]] std::string str() const;

private:
    std::size_t width_, label_width_, indent_;
    std::vector<std::string> lines_;
};

}  // namespace mailwire::cli
