//! The contract a component speaks: which `stepkit:check` version it exports, and what it imports.

use super::PluginErrorKind;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;
use wasmtime::Engine;

/// The interface every plugin exports, without its version.
pub const CHECK_INTERFACE: &str = "stepkit:check/check";
/// The contract version this host speaks (the WIT package version).
pub const HOST_CONTRACT: &str = "0.1";

/// One import or export: its name and, for an interface, the functions in it.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Item {
    pub name: String,
    pub functions: Vec<String>,
    /// For imports: what granting it means here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
}

/// What a component asks for and offers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Shape {
    /// The `stepkit:check/check` version it exports, if any.
    pub contract: Option<String>,
    pub exports: Vec<Item>,
    pub imports: Vec<Item>,
}

/// Reads the shape of a compiled component.
pub fn shape(component: &Component, engine: &Engine) -> Shape {
    let ty = component.component_type();
    let item = |name: &str, kind: ComponentItem, import: bool| {
        let functions = match kind {
            // Functions only: the types an interface also exports say nothing about what it can do.
            ComponentItem::ComponentInstance(instance) => instance
                .exports(engine)
                .filter(|(_, e)| matches!(e.ty, ComponentItem::ComponentFunc(_)))
                .map(|(n, _)| n.to_string())
                .collect(),
            _ => Vec::new(),
        };
        let capability = import.then(|| describe(name, &functions));
        Item { name: name.to_string(), functions, capability }
    };
    let exports: Vec<Item> = ty.exports(engine).map(|(name, e)| item(name, e.ty, false)).collect();
    let imports = ty.imports(engine).map(|(name, e)| item(name, e.ty, true)).collect();
    let contract = exports.iter().find_map(|e| contract_version(&e.name)).map(str::to_string);
    Shape { contract, exports, imports }
}

/// `stepkit:check/check@0.1.2` -> `0.1.2`.
fn contract_version(name: &str) -> Option<&str> {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    (interface == CHECK_INTERFACE).then_some(version)
}

/// Whether this host can run a component of this shape; the error says what it was built for.
pub fn check_compatible(shape: &Shape) -> Result<(), (PluginErrorKind, String)> {
    let Some(version) = &shape.contract else {
        let names: Vec<&str> = shape.exports.iter().map(|e| e.name.as_str()).collect();
        let found = if names.is_empty() { "nothing".to_string() } else { names.join(", ") };
        return Err((
            PluginErrorKind::MissingExport,
            format!("it does not export `{CHECK_INTERFACE}` (it exports {found}); build it with the stepkit-plugin SDK or the stepkit:check WIT"),
        ));
    };
    if compatible(version) {
        Ok(())
    } else {
        Err((
            PluginErrorKind::ContractVersion,
            format!(
                "it was built for contract {} (`{CHECK_INTERFACE}@{version}`), this host speaks {HOST_CONTRACT}; rebuild it against stepkit:check@{HOST_CONTRACT} or use a stepkit that speaks its version",
                if version.is_empty() { "without a version" } else { version }
            ),
        ))
    }
}

/// Semver as the component model applies it: 0.x versions are compatible within their minor.
fn compatible(version: &str) -> bool {
    let mut parts = version.split('.');
    matches!((parts.next(), parts.next()), (Some("0"), Some("1")))
}

/// [`capability`], narrowed to what the host functions it actually imports can do.
fn describe(name: &str, functions: &[String]) -> String {
    if name.split('@').next() != Some("stepkit:check/host") {
        return capability(name).to_string();
    }
    let mut parts = Vec::new();
    if functions.iter().any(|f| f == "log") {
        parts.push("log lines (sanitized)");
    }
    if functions.iter().any(|f| f == "http-request") {
        parts.push("HTTP requests, only to hosts granted with --allow-host");
    }
    if parts.is_empty() {
        capability(name).to_string()
    } else {
        parts.join("; ")
    }
}

/// What importing `name` lets a plugin do under stepkit.
pub fn capability(name: &str) -> &'static str {
    let interface = name.split('@').next().unwrap_or(name);
    match interface {
        "stepkit:check/host" => {
            "log lines (sanitized); HTTP requests, only to hosts granted with --allow-host"
        }
        "stepkit:check/types" => "data types only",
        "wasi:filesystem/types" | "wasi:filesystem/preopens" => {
            "files: read-only, only directories granted with --allow-read"
        }
        "wasi:cli/environment" => {
            "environment: only variables granted with --allow-env (and arguments: none)"
        }
        "wasi:cli/stdout" | "wasi:cli/stderr" => "output: captured, bounded and sanitized",
        "wasi:cli/stdin" => "input: always empty",
        "wasi:cli/exit" => "exit: ends the run (counts as an error)",
        i if i.starts_with("wasi:cli/terminal") => "terminal: never a terminal",
        i if i.starts_with("wasi:sockets/") => "sockets: always denied",
        i if i.starts_with("wasi:clocks/") => "clocks",
        i if i.starts_with("wasi:random/") => "random numbers",
        i if i.starts_with("wasi:io/") => "streams (for the above)",
        i if i.starts_with("wasi:http/") => {
            "not provided: stepkit does not offer wasi:http; use stepkit:check/host http-request"
        }
        _ => "not provided by stepkit: the plugin cannot be instantiated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_with(exports: &[&str]) -> Shape {
        let exports = exports
            .iter()
            .map(|n| Item { name: n.to_string(), functions: vec![], capability: None })
            .collect::<Vec<_>>();
        let contract = exports.iter().find_map(|e| contract_version(&e.name)).map(str::to_string);
        Shape { contract, exports, imports: vec![] }
    }

    #[test]
    fn versions_within_0_1_are_accepted() {
        assert!(check_compatible(&shape_with(&["stepkit:check/check@0.1.0"])).is_ok());
        assert!(check_compatible(&shape_with(&["stepkit:check/check@0.1.7"])).is_ok());
    }

    #[test]
    fn other_majors_name_their_version() {
        for v in ["1.0.0", "0.2.0", "0.0.9"] {
            let (kind, message) =
                check_compatible(&shape_with(&[&format!("stepkit:check/check@{v}")])).unwrap_err();
            assert_eq!(kind, PluginErrorKind::ContractVersion);
            assert!(message.contains(v) && message.contains("0.1"), "{message}");
        }
    }

    #[test]
    fn missing_export_lists_what_is_there() {
        let (kind, message) = check_compatible(&shape_with(&["wasi:cli/run@0.2.0"])).unwrap_err();
        assert_eq!(kind, PluginErrorKind::MissingExport);
        assert!(message.contains("wasi:cli/run@0.2.0"), "{message}");
        assert!(check_compatible(&shape_with(&["stepkit:check/checks@0.1.0"])).is_err());
    }

    #[test]
    fn capabilities_are_described() {
        assert!(capability("wasi:sockets/tcp@0.2.6").contains("denied"));
        assert!(capability("stepkit:check/host@0.1.0").contains("--allow-host"));
        assert!(capability("acme:thing/x").contains("not provided"));
        assert_eq!(describe("stepkit:check/host@0.1.0", &["log".into()]), "log lines (sanitized)");
        assert!(describe("stepkit:check/host@0.1.0", &["http-request".into()]).starts_with("HTTP requests"));
    }
}
