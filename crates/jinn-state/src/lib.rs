//! jinn-state
