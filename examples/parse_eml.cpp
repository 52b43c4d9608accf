// parse_eml — parse an .eml file, print its MIME structure and save its attachments.
//
//   parse_eml MESSAGE.eml [OUTPUT_DIR]
//
// OUTPUT_DIR defaults to MAILWIRE_EXAMPLE_DIR, else "attachments". File names come from the
// message, i.e. from whoever sent it: only the last path component is used, and a name that would
// overwrite an existing file gets a number, so an attachment called "../../.bashrc" stays harmless.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <mailwire/error.hpp>
#include <mailwire/mime/message.hpp>

namespace {
std::filesystem::path safe_path(const std::filesystem::path& dir, const std::string& suggested, int index) {
    std::string name = std::filesystem::path(suggested).filename().string();
    if (name.empty() || name == "." || name == "..") name = "attachment-" + std::to_string(index);
    auto path = dir / name;
    for (int n = 1; std::filesystem::exists(path); ++n) path = dir / (std::to_string(n) + "-" + name);
    return path;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: parse_eml MESSAGE.eml [OUTPUT_DIR]\n";
        return 2;
    }
    const char* env_dir = std::getenv("MAILWIRE_EXAMPLE_DIR");
    const std::filesystem::path dir = argc > 2 ? argv[2] : env_dir != nullptr ? env_dir : "attachments";

    try {
        // load() parses the whole file into a tree of entities; for very large files or mbox
        // archives, mime::parser with a parser_handler streams instead.
        const auto message = mailwire::mime::message::load(argv[1]);
        std::cout << "subject: " << message.subject() << '\n';
        for (const auto& from : message.from())
            for (const auto& m : from.members) std::cout << "from:    " << m.name << " <" << m.address() << ">\n";

        message.walk([](const mailwire::mime::entity& part, std::size_t depth) {
            const auto type = part.content_type();
            std::cout << std::string(2 * depth, ' ') << type.type << '/' << type.subtype;
            if (!part.filename().empty()) std::cout << "  \"" << part.filename() << '"';
            std::cout << '\n';
        });

        if (const auto* text = message.find_text("plain"))
            std::cout << "text:    " << text->text().substr(0, 200) << '\n';

        std::filesystem::create_directories(dir);
        int index = 0;
        for (const auto* attachment : message.attachments()) {
            const auto path = safe_path(dir, attachment->filename(), ++index);
            const std::string data = attachment->decoded_body();  // base64 / quoted-printable removed
            std::ofstream(path, std::ios::binary).write(data.data(), std::streamsize(data.size()));
            std::cout << "saved " << path.filename().string() << " (" << data.size() << " bytes)\n";
        }
        std::cout << index << " attachment(s) saved in " << dir.string() << '\n';
        return 0;
    } catch (const mailwire::error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    } catch (const std::filesystem::filesystem_error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
}
