// The page's own files (clients/web/static), compiled into clownix-web by embed_assets.py so the
// binary serves them wherever it runs from.
#ifndef CLOWNIX_CLIENTS_WEB_STATIC_ASSETS_H_
#define CLOWNIX_CLIENTS_WEB_STATIC_ASSETS_H_

#include "absl/strings/string_view.h"

namespace clownix::web {

struct StaticAsset {
  absl::string_view path;  // "/app.js"
  absl::string_view content_type;
  absl::string_view data;
};

// The file served at `path` ("/" is /index.html), or null.
const StaticAsset* FindStaticAsset(absl::string_view path);

}  // namespace clownix::web

#endif  // CLOWNIX_CLIENTS_WEB_STATIC_ASSETS_H_
