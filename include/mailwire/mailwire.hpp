// mailwire — the whole public API in one include.
//
//   #include <mailwire/mailwire.hpp>
//
// Including only the headers you use (e.g. <mailwire/imap/client.hpp>) builds faster; this one is
// for convenience and is kept complete by a test (tests/packaging: packaging.umbrella_complete).
#pragma once

#include "mailwire/client.hpp"
#include "mailwire/error.hpp"
#include "mailwire/export.hpp"
#include "mailwire/imap/client.hpp"
#include "mailwire/imap/parser.hpp"
#include "mailwire/imap/status.hpp"
#include "mailwire/imap/types.hpp"
#include "mailwire/mime.hpp"
#include "mailwire/mime/address.hpp"
#include "mailwire/mime/builder.hpp"
#include "mailwire/mime/charset.hpp"
#include "mailwire/mime/date.hpp"
#include "mailwire/mime/encoding.hpp"
#include "mailwire/mime/mbox.hpp"
#include "mailwire/mime/message.hpp"
#include "mailwire/mime/params.hpp"
#include "mailwire/mime/parser.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "mailwire/mime/serializer.hpp"
#include "mailwire/net/stream.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/pop3/multiline.hpp"
#include "mailwire/pop3/response.hpp"
#include "mailwire/ports.hpp"
#include "mailwire/sasl/base64.hpp"
#include "mailwire/sasl/mechanism.hpp"
#include "mailwire/security.hpp"
#include "mailwire/smtp/client.hpp"
#include "mailwire/smtp/data.hpp"
#include "mailwire/smtp/reply.hpp"
