//! `stepkit image`: docker image build and push through the Docker API.

pub mod dockerignore;
pub mod reference;
