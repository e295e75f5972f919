//! Runs a bash script in the test VM of `vrrp_lab::vm` and prints the report: for trying a
//! guest script by hand. `cargo run -p vrrp-lab --example vm -- FILE.sh [BINARY...]`
//! (root; the binaries land in the guest's `/usr/local/bin`). Exits with the script's status.

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: vm FILE.sh [BINARY...]");
        std::process::exit(2);
    };
    let script = match std::fs::read_to_string(&file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{file}: {e}");
            std::process::exit(2);
        }
    };
    let spec = vrrp_lab::vm::VmSpec {
        binaries: args.map(Into::into).collect(),
        ..vrrp_lab::vm::VmSpec::new(script)
    };
    match vrrp_lab::vm::run(&spec) {
        Ok(r) => {
            println!("{}", r.report());
            std::process::exit(r.status);
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
