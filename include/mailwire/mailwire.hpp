/// \file
/// The whole public API in one include:
///
///     #include <mailwire/mailwire.hpp>
///
/// Including only the headers you use (e.g. `<mailwire/imap/client.hpp>`) builds faster; this one
/// is for convenience and is kept complete by a test (tests/packaging: packaging.umbrella_complete).
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
#include "mailwire/secret.hpp"
#include "mailwire/security.hpp"
#include "mailwire/smtp/client.hpp"
#include "mailwire/smtp/data.hpp"
#include "mailwire/smtp/parallel.hpp"
#include "mailwire/smtp/reply.hpp"

/// \namespace mailwire
/// Everything mailwire offers. This namespace holds what all protocols share: connection security
/// (security.hpp), errors (error.hpp), ports (ports.hpp) and the client base (client.hpp).
/// Names in a nested `detail` namespace are internals, not API.

/// \namespace mailwire::net
/// The transport under every client: TCP with per-operation deadlines, plus TLS (OpenSSL, kept
/// behind a pimpl) that starts right after connect or upgrades the same connection in place.

/// \namespace mailwire::sasl
/// SASL client mechanisms (RFC 4422) without I/O, the rules for choosing one, and their base64
/// framing. client_base::authenticate() drives them; use them directly only for another protocol.

/// \namespace mailwire::imap
/// IMAP4rev1 (RFC 3501) and common extensions: the blocking imap::client and the incremental,
/// I/O-free response parser it is built on.

/// \namespace mailwire::pop3
/// POP3 (RFC 1939, extensions of RFC 2449): the blocking pop3::client and its reply parsers.

/// \namespace mailwire::smtp
/// SMTP submission (RFC 5321, STARTTLS RFC 3207): the blocking smtp::client, reply parsing and
/// the dot-stuffing DATA encoder.

/// \namespace mailwire::mime
/// Internet messages (RFC 5322, MIME RFC 2045–2049): a streaming parser, a builder, a serializer,
/// and codecs for addresses, dates, parameters, charsets and transfer encodings.
