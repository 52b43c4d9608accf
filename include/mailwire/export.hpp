/// \file
/// Symbol visibility: the library is built with hidden visibility; the API is exported.
#pragma once

/// Marks a class or function as part of the library's exported API (default visibility), since
/// everything else in the shared library is hidden. Expands to nothing on Windows. Only
/// mailwire's own headers need it.
#if defined(_WIN32)
#define MAILWIRE_API
#else
#define MAILWIRE_API __attribute__((visibility("default")))
#endif
