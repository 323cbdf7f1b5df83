//! [`MultipartLimits`]: the bounds a multipart parser enforces.

/// Limits for a multipart body, each with a documented default and a `&mut Self` setter
/// (amounts of bytes are `u64`, counts `usize`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartLimits {
    pub(super) header_bytes: usize,
    pub(super) parts: usize,
    pub(super) name_bytes: usize,
    pub(super) field_bytes: u64,
    pub(super) preamble_bytes: usize,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        Self {
            header_bytes: 8 * 1024,
            parts: 1000,
            name_bytes: 4 * 1024,
            field_bytes: 50 * 1024,
            preamble_bytes: 16 * 1024,
        }
    }
}

impl MultipartLimits {
    /// Largest header section of one part, in bytes. Default 8 KiB.
    pub fn max_header_bytes(&mut self, bytes: u64) -> &mut Self {
        self.header_bytes = crate::limits::to_usize(bytes);
        self
    }
    /// Most parts in one body. Default 1000.
    pub fn max_parts(&mut self, count: usize) -> &mut Self {
        self.parts = count;
        self
    }
    /// Longest field name (`name=` of Content-Disposition), in bytes. Default 4 KiB.
    pub fn max_name_bytes(&mut self, bytes: u64) -> &mut Self {
        self.name_bytes = crate::limits::to_usize(bytes);
        self
    }
    /// Largest value of a non-file field (a part without `filename=`), in bytes.
    /// File parts are not bounded here (they stream). Default 50 KiB.
    pub fn max_field_bytes(&mut self, bytes: u64) -> &mut Self {
        self.field_bytes = bytes;
        self
    }
    /// Largest preamble before the first delimiter, in bytes. Default 16 KiB.
    pub fn max_preamble_bytes(&mut self, bytes: u64) -> &mut Self {
        self.preamble_bytes = crate::limits::to_usize(bytes);
        self
    }
}

settings_from_ref!(MultipartLimits);
