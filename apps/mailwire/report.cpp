#include "report.hpp"

namespace mailwire::cli {

std::vector<std::string> wrap(const std::string& text, std::size_t width) {
    std::vector<std::string> out;
    if (width == 0) width = 1;
    std::string line;
    std::size_t i = 0;
    while (i < text.size()) {
        // Next word (spaces separate words; any other character belongs to one).
        std::size_t j = text.find(' ', i);
        if (j == std::string::npos) j = text.size();
        std::string word = text.substr(i, j - i);
        i = j < text.size() ? j + 1 : j;
        if (word.empty()) continue;
        while (!word.empty()) {
            const std::size_t room = line.empty() ? width : (line.size() + 1 < width ? width - line.size() - 1 : 0);
            if (word.size() <= room) {
                if (!line.empty()) line += ' ';
                line += word;
                word.clear();
            } else if (!line.empty()) {
                out.push_back(line);
                line.clear();
            } else {
                // A word longer than a line: break it, preferably after a ':' or ','.
                std::size_t cut = width;
                for (std::size_t k = width; k > width / 2; --k)
                    if (word[k - 1] == ':' || word[k - 1] == ',') {
                        cut = k;
                        break;
                    }
                out.push_back(word.substr(0, cut));
                word.erase(0, cut);
            }
        }
    }
    if (!line.empty() || out.empty()) out.push_back(line);
    return out;
}

void text_report::heading(const std::string& text) {
    for (auto& l : wrap(text, width_)) lines_.push_back(l);
}

void text_report::field(const std::string& label, const std::string& value) {
    const std::size_t lead = indent_ + label_width_;
    const std::size_t room = width_ > lead + 10 ? width_ - lead : 10;
    std::string head = std::string(indent_, ' ') + label;
    if (head.size() + 1 > lead) {
        // A label too long for the column gets a line of its own.
        lines_.push_back(head.substr(0, width_));
        head.clear();
    }
    head.resize(lead, ' ');
    bool first = true;
    for (auto& l : wrap(value.empty() ? std::string("-") : value, room)) {
        lines_.push_back((first ? head : std::string(lead, ' ')) + l);
        first = false;
    }
}

void text_report::fields(const std::string& label, const std::vector<std::string>& values) {
    if (values.empty()) {
        field(label, "-");
        return;
    }
    bool first = true;
    for (const auto& v : values) {
        field(first ? label : std::string(), v);
        first = false;
    }
}

void text_report::blank() { lines_.emplace_back(); }

std::string text_report::str() const {
    std::string out;
    for (const auto& l : lines_) {
        std::size_t end = l.find_last_not_of(' ');
        out.append(l, 0, end == std::string::npos ? 0 : end + 1);
        out += '\n';
    }
    return out;
}

}  // namespace mailwire::cli
