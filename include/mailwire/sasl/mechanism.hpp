/// \file
/// SASL client mechanisms (RFC 4422), sans-I/O: bytes in, bytes out.
///
/// A mechanism knows nothing about IMAP AUTHENTICATE, POP3 AUTH or SMTP AUTH. The protocol layer
/// base64-encodes what step() returns, decodes the server's challenges (sasl/base64.hpp) and feeds
/// them back:
///
///     auto m = sasl::make_mechanism("SCRAM-SHA-256", creds);
///     if (server has SASL-IR / SMTP AUTH && m->has_initial_response())
///         send("AUTHENTICATE SCRAM-SHA-256 " + base64(m->step({})));   // "=" when that is empty
///     else send("AUTHENTICATE SCRAM-SHA-256");   // the server answers "+ " (empty challenge)
///     on challenge "+ X":   send(base64(m->step(base64_decode(X))));
///
/// step() returns a mailwire::secret; encode it with base64_encode_secret(r.view()) and build
/// the command line in a secret too, so that no copy of the credential outlives the write.
///     on success [data]:    m->verify_success(data);   // ALWAYS, even with no data
///     on failure:           throw auth_error(..., m->server_error() ...)
///     if step() throws:     cancel with "*" (IMAP, POP3 and SMTP alike) and rethrow;
///     if verify_success() throws: the server did not prove it knows the password (SCRAM), so
///                           it may be an impostor: close the connection and rethrow.
///
/// Server-first mechanisms (LOGIN, CRAM-MD5: has_initial_response() == false) get the server's
/// first challenge in their first step() call instead of an empty one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"
#include "mailwire/secret.hpp"

namespace mailwire::sasl {

/// What a mechanism may need. Each mechanism uses only its own fields.
///
/// The password and the token are mailwire::secret: wiped from memory when the credentials are
/// destroyed or reassigned. They accept a std::string, a string_view or a C string as before
/// (`c.password = str;`); a std::string rvalue is wiped as it is taken (`c.password = f();`).
struct credentials {
    std::string user;               ///< authentication identity (authcid); UTF-8
    secret password;                ///< UTF-8; SCRAM applies SASLprep to it, the others send it as is
    std::string authzid;            ///< authorization identity ("act as"); empty = same as user
    secret oauth_token;             ///< XOAUTH2 / OAUTHBEARER bearer token (without "Bearer ")
    std::string server_host;        ///< OAUTHBEARER only: the server's host name, sent as host= if set
    std::uint16_t server_port = 0;  ///< OAUTHBEARER only: sent as port= if non-zero
};

/// Channel-binding data from the TLS layer for the SCRAM -PLUS mechanisms (RFC 5056, 5929, 9266).
/// "tls-exporter" (RFC 9266; TLS 1.3, or 1.2 with extended master secret): 32 bytes of
/// SSL_export_keying_material with label "EXPORTER-Channel-Binding" and no context.
/// "tls-unique" (RFC 5929; TLS 1.2 and lower only): the first Finished message.
struct channel_binding {
    std::string type;                 ///< "tls-exporter" or "tls-unique"
    std::vector<unsigned char> data;  ///< the binding bytes from net::stream::channel_binding()
};

/// One client side of one SASL exchange. Not reusable: make a new one per attempt.
class MAILWIRE_API mechanism {
public:
    virtual ~mechanism();
    mechanism() = default;
    mechanism(const mechanism&) = delete;
    mechanism& operator=(const mechanism&) = delete;

    /// Canonical upper-case name, e.g. "SCRAM-SHA-256".
    [[nodiscard]] virtual std::string_view name() const noexcept = 0;
    /// The client speaks first (its first step() call takes an empty challenge). With SASL-IR
    /// (RFC 4959) / SMTP AUTH the result goes on the command line; otherwise after an empty "+ ".
    [[nodiscard]] virtual bool has_initial_response() const noexcept = 0;
    /// PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER hand a reusable secret to whoever reads the wire.
    [[nodiscard]] virtual bool sends_secret_in_clear() const noexcept = 0;
    /// Next client message as raw bytes (the protocol layer base64-encodes it, with
    /// base64_encode_secret) for `challenge` (raw bytes, already decoded). A secret because it
    /// may carry the password or token itself (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER) or a proof
    /// an eavesdropper on memory could attack offline (CRAM-MD5, SCRAM). Throws auth_error on a malformed or unexpected
    /// challenge: errc::protocol_violation when the server broke the mechanism's grammar, errc::auth_failed when it
    /// reported failure (SCRAM "e=", a wrong server signature).
    virtual secret step(std::string_view challenge) = 0;
    /// True once the client has nothing more to send. For SCRAM only after the server
    /// signature has been checked (in a final challenge); XOAUTH2/OAUTHBEARER may still receive
    /// an error challenge afterwards, which step() answers as those mechanisms require.
    [[nodiscard]] virtual bool complete() const noexcept = 0;
    /// Call when the server reports success, with the success data (SCRAM's "v=..." when the
    /// protocol carries it in the success reply) or empty. SCRAM throws
    /// auth_error(errc::auth_failed, "server signature ...") when the signature is wrong, or when
    /// the server claims success without ever having proven it knows the password. The other
    /// mechanisms do nothing.
    virtual void verify_success(std::string_view server_final);
    /// What the server explained in an error challenge (XOAUTH2/OAUTHBEARER JSON: status, schemes,
    /// scope), empty if none. Put it into the auth_error raised when the server then refuses.
    [[nodiscard]] virtual std::string server_error() const;
    /// Log-safe form of one of this mechanism's client messages ("<PLAIN credentials>"); empty
    /// for an empty message.
    [[nodiscard]] virtual std::string redact(std::string_view client_message) const;
};

/// Creates the client side of mechanism `name` (case-insensitive). Throws
/// auth_error(errc::auth_unsupported) for an unknown name and auth_error(errc::invalid_argument)
/// when the credentials cannot work with it (no user, a NUL in a PLAIN field, no token for
/// XOAUTH2, an authzid for LOGIN/CRAM-MD5 which cannot carry one, -PLUS without `cb`, a user name
/// or password SASLprep refuses).
///
/// `cb`: for SCRAM-*-PLUS it is required. For plain SCRAM-* passing it means "the client could
/// bind but the server offered no -PLUS mechanism" and sends the gs2 flag "y" (RFC 5802 §6), so
/// a server that did offer -PLUS detects the downgrade. Pass nullopt to a plain SCRAM-* when the
/// server offered -PLUS and you chose not to use it.
MAILWIRE_API std::unique_ptr<mechanism> make_mechanism(std::string_view name, const credentials& c,
                                                       std::optional<channel_binding> cb = std::nullopt);

/// True for the names make_mechanism accepts: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1(-PLUS),
/// SCRAM-SHA-256(-PLUS), XOAUTH2, OAUTHBEARER, EXTERNAL (case-insensitive).
MAILWIRE_API bool is_supported(std::string_view name) noexcept;

/// What choose_mechanisms() may use: the state of the connection and which credentials exist.
struct selection_options {
    bool encrypted = false;             ///< the connection is TLS-protected now
    bool allow_plaintext_auth = false;  ///< caller accepts secrets in clear on a plain connection
    bool have_channel_binding = false;  ///< the TLS layer can supply channel_binding
    bool have_oauth_token = false;      ///< credentials carry an oauth_token
    bool have_password = true;          ///< credentials carry a password (false: token only)
    bool have_authzid = false;          ///< credentials carry an authzid (LOGIN, CRAM-MD5 cannot)
    /// Caller override: when non-empty, only these, in this order (EXTERNAL only this way).
    std::vector<std::string> preferred;
};

/// The mechanisms to try, best first, among `offered` (the server's list, any case), in
/// canonical upper case. Default order: OAUTHBEARER > XOAUTH2 (with a token), then
/// SCRAM-SHA-256-PLUS > SCRAM-SHA-1-PLUS (with channel binding) > SCRAM-SHA-256 > SCRAM-SHA-1 >
/// CRAM-MD5 > PLAIN > LOGIN (with a password). Channel binding ranks above the hash: it is what
/// stops a man in the middle, and SHA-1 inside HMAC/PBKDF2 is not the weak point. Mechanisms that
/// send the secret in clear are dropped when !encrypted && !allow_plaintext_auth, even if
/// preferred; so are LOGIN and CRAM-MD5 when an authzid must be sent. An empty result means:
/// nothing usable (auth_unsupported, or plaintext_auth_refused when only in-clear ones were left).
MAILWIRE_API std::vector<std::string> choose_mechanisms(const std::vector<std::string>& offered,
                                                        const selection_options& o);

/// SASLprep (RFC 4013) of a UTF-8 string as a "query" (unassigned code points allowed, as SCRAM
/// requires, RFC 5802 §2.2): non-ASCII spaces become U+0020, soft hyphen and the other
/// "mapped to nothing" characters vanish, NFKC, then prohibited output and bidi checks. Throws
/// auth_error(errc::invalid_argument) on invalid UTF-8 or prohibited output (e.g. a control
/// character); the message never contains the input. The result is usually a password: take it
/// into a mailwire::secret (`secret s = saslprep(pw.view());` wipes the returned string's buffer).
MAILWIRE_API std::string saslprep(std::string_view utf8);

}  // namespace mailwire::sasl
