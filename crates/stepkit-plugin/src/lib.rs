//! Guest SDK for stepkit check plugins: the `stepkit:check@0.1.0` bindings, a `Check` trait and helpers.
//!
//! ```ignore
//! use stepkit_plugin::{Check, CheckError, Context, Report};
//!
//! struct Hello;
//!
//! impl Check for Hello {
//!     fn run(ctx: &Context) -> Result<Report, CheckError> {
//!         let who = ctx.config_or("who", "world");
//!         Ok(Report::pass(format!("hello, {who}")))
//!     }
//! }
//!
//! stepkit_plugin::export!(Hello);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the component `stepkit check --plugin` loads.

// The generated code names the runtime through this path so that plugins need no direct
// wit-bindgen dependency (and can never pick a second, mismatched version of it).
extern crate self as stepkit_plugin;
#[doc(hidden)]
pub use wit_bindgen;

mod context;
pub mod http;
pub mod log;
mod report;

/// The generated bindings of the `plugin` world, for anything the helpers do not cover.
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        runtime_path: "stepkit_plugin::wit_bindgen::rt",
        // The macro must be callable from plugin crates and find the types here, not next to the call.
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "stepkit_plugin::bindings",
    });
}

pub use bindings::stepkit::check::host::{HttpError, HttpResponse, LogLevel, Request as HttpRequest};
pub use bindings::stepkit::check::types::{
    CheckError, CiContext, Finding, Input, Metric, Report, Severity, Verdict,
};
pub use context::Context;

/// A check plugin. Implement `run` on a unit struct and pass the type to [`export!`].
pub trait Check {
    /// Run the check once. Return `Err` only when the check could not do its job at all
    /// (bad config, unreadable input); a failed check is `Ok(Report)` with a `Fail` verdict.
    fn run(ctx: &Context) -> Result<Report, CheckError>;
}

/// Export a [`Check`] implementation as the component's `stepkit:check/check` interface.
#[macro_export]
macro_rules! export {
    ($ty:ident) => {
        impl $crate::bindings::exports::stepkit::check::check::Guest for $ty {
            fn run(input: $crate::Input) -> ::core::result::Result<$crate::Report, $crate::CheckError> {
                $crate::__run::<$ty>(input)
            }
        }
        $crate::bindings::export_plugin!($ty with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub fn __run<T: Check>(input: Input) -> Result<Report, CheckError> {
    T::run(&Context::new(input))
}
