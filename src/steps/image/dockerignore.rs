//! The .dockerignore matcher (being written).
