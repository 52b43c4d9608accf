// mailwire MIME: everything in one include.
#pragma once

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
