//! OS adapters of the daemon: each turns one kind of engine output or input into Linux
//! system calls, and holds no protocol logic.
//!
//! - [`socket`]: raw VRRP sockets (IP protocol 112) with batched `sendmmsg`/`recvmmsg`;
//! - [`doorbell`]: the priority-0 doorbell that wakes a Backup whose VRRP sockets are parked
//!   (receive coalescing);
//! - [`netlink`]: rtnetlink for interfaces, VIPs and link/address events;
//! - [`routes`]: rtnetlink for `virtual_routes` / `virtual_rules` and their start-up sweep;
//! - [`ipvs`]: the IPVS table over generic netlink (services and real servers);
//! - [`files`]: tracked files (`vrrp_track_file`): values, `init_file`, inotify;
//! - [`procs`]: tracked processes (`vrrp_track_process`): names, matching, process events;
//! - [`garp`]: gratuitous ARP and unsolicited NA frames on an AF_PACKET socket;
//! - [`timer`]: one `timerfd` on `CLOCK_MONOTONIC`, armed at the engine's next deadline;
//! - [`scripts`]: `vrrp_script` checks, `MISC_CHECK` scripts and notify scripts as child
//!   processes;
//! - [`smtp`]: keepalived's SMTP dialogue for alert mails;
//! - [`nft`]: Accept_Mode's nftables table, through `nft -j`;
//! - [`vmac`]: macvlans for `use_vmac`, their sysctls and nftables rules;
//! - [`probes`]: real-server probes (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`).

pub mod doorbell;
pub mod files;
pub mod garp;
pub mod http;
pub mod ipvs;
pub mod netlink;
pub mod nft;
pub mod probes;
pub mod procs;
pub mod route_events;
pub mod routes;
pub mod scripts;
pub mod smtp;
pub mod socket;
pub mod timer;
pub mod vmac;
