// mbox files: messages separated by "From " lines, read one after another with bounded memory.
// Separator rules and ">From " unquoting are described in parser.hpp.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "mailwire/export.hpp"
#include "mailwire/mime/message.hpp"
#include "mailwire/mime/parser.hpp"

namespace mailwire::mime {

/// Reads an mbox one message at a time (256 KiB block reads; memory holds one message).
class MAILWIRE_API mbox_reader {
public:
    /// Opens `path`; throws mailwire::error (errc::io_error) when it cannot. options.format is
    /// forced to input_format::mbox.
    explicit mbox_reader(const std::string& path, parser_options options = {});
    ~mbox_reader();
    mbox_reader(const mbox_reader&) = delete;
    mbox_reader& operator=(const mbox_reader&) = delete;

    /// The next message, nullopt at the end of the file.
    std::optional<message> next();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace mailwire::mime
