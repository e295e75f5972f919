//! Real-time scheduling for the lab's run (`sim lab`, unless `--no-realtime`): the lab's own
//! thread and every daemon run under `SCHED_FIFO`, so a deadline on a machine busy with
//! other work (a compiler on both cores, say) is met when it falls, not when the ordinary
//! scheduler next gives a core: measured here under load, a daemon's advert left 1.8-2.3 ms
//! after its timer's instant without, which `sim compare` would count as the engine's.
//! keepalived's deployed equivalent is `vrrp_rt_priority`. The kernel's real-time throttling
//! (`sched_rt_runtime_us`) still leaves the rest of the machine 5 % of each second.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// The `SCHED_FIFO` priority of the lab and its daemons (1..99; low: above every ordinary
/// process, below the kernel's own real-time threads).
const PRIORITY: i32 = 10;

fn set(policy: i32, priority: i32) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: sched_setscheduler on the calling thread (pid 0) with a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Puts the calling thread under `SCHED_FIFO` (its children inherit it: the short `nft` and
/// `ip` commands of faults run at once too).
pub fn enter() -> Result<(), String> {
    set(libc::SCHED_FIFO, PRIORITY).map_err(|e| format!("SCHED_FIFO: {e}"))
}

/// Puts the calling thread back under the ordinary scheduler.
pub fn leave() {
    let _ = set(libc::SCHED_OTHER, 0);
}

/// Makes `cmd` run under `SCHED_FIFO`, its own children (check scripts) not: they are the
/// work a daemon waits for, not the daemon.
pub fn daemon(cmd: &mut Command) {
    // SAFETY: the closure runs between fork and exec and only makes one system call.
    unsafe {
        cmd.pre_exec(|| set(libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, PRIORITY));
    }
}
