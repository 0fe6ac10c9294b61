//! jinn-init
