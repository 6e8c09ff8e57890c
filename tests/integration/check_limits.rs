//! What a plugin can never get past, through the real host: the output caps and the socket ban.

use crate::check::{components, error_kind, one};

#[test]
fn a_one_mib_line_is_cut_and_the_rest_of_the_output_counted_as_dropped() {
    if !components() {
        return;
    }
    // noisy prints a 1 MiB line to stdout and logs it: stdout keeps 64 KiB, every line is cut at 1000 characters.
    let (_, entry) = one("noisy", &[], 0);
    let dropped =
        entry["output_dropped"].as_u64().unwrap_or_else(|| panic!("no output_dropped in {entry:#}"));
    assert!(((1 << 20) - (64 << 10)..=(1 << 20)).contains(&dropped), "output_dropped = {dropped}");
    let stdout: Vec<&str> = entry["stdout"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    let logs: Vec<&str> =
        entry["logs"].as_array().unwrap().iter().map(|l| l["message"].as_str().unwrap()).collect();
    for line in stdout.iter().chain(&logs) {
        assert!(line.chars().count() <= 1001, "a line of {} characters got through", line.chars().count());
    }
    for kept in [&stdout, &logs] {
        let huge = kept
            .iter()
            .find(|l| l.starts_with("xxxx"))
            .unwrap_or_else(|| panic!("the long line is not shown at all: {kept:?}"));
        assert!(huge.ends_with('…') && huge.chars().count() == 1001, "{huge}");
    }
    // The cut line is well inside the 64 KiB log budget: nothing was dropped from the log.
    assert_eq!(entry["logs_dropped"], 0, "{entry:#}");
}

#[test]
fn raw_sockets_are_denied_even_to_a_granted_listening_port() {
    if !components() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let grant = format!("127.0.0.1:{port}");
    // --allow-host is for host.http-request; WASI sockets stay closed with or without it, by address or by name.
    for addr in [format!("addr=127.0.0.1:{port}"), format!("addr=localhost:{port}")] {
        for granted in [true, false] {
            let mut args = vec!["--set", addr.as_str()];
            if granted {
                args.extend(["--allow-host", grant.as_str(), "--allow-host", "localhost"]);
            }
            let (_, entry) = one("socket", &args, 1);
            assert_eq!(error_kind(&entry), "check-error", "{addr} (granted: {granted}): {entry:#}");
            assert!(!entry.to_string().contains("connected to"), "{entry:#}");
        }
    }
    listener.set_nonblocking(true).unwrap();
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a plugin reached the listener: {accepted:?}"
    );
}
