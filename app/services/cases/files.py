"""Evidence files: type sniffed from the content, stored outside the web root under a hash.

The storage itself is ``app.services.uploads``, shared with the identity documents of bindings.
"""
from app.services.uploads import (
    MAX_FILE_BYTES,
    Upload,
    blob_path,
    check_upload,
    download_source,
    safe_filename,
    sniff_content_type,
    store,
)

__all__ = ["MAX_FILE_BYTES", "Upload", "blob_path", "check_upload", "download_source", "safe_filename",
           "sniff_content_type", "store"]
