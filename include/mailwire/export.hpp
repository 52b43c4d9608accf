// Symbol visibility: the library is built with hidden visibility; the API is exported.
#pragma once

#if defined(_WIN32)
#define MAILWIRE_API
#else
#define MAILWIRE_API __attribute__((visibility("default")))
#endif
