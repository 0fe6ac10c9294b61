//! jinn-sys
