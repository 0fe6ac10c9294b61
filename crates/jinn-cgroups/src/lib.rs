//! jinn-cgroups
