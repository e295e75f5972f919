//! `vrrp_track_file`: the daemon reads each tracked file, creates it for `init_file`, watches
//! its folder with inotify and reports every value to the engine ([`Input::TrackFile`]), which
//! applies it to each instance tracking the file with that instance's weight.

use super::driver::Daemon;
use crate::os::files::{self, FileEvent};
use std::path::PathBuf;
use vrrp_engine::io::TrackFileId;
use vrrp_engine::Input;

impl Daemon {
    /// At start and after a reload: create the `init_file`s that are missing, watch every
    /// tracked file's folder, and report every file's value.
    pub(super) fn setup_track_files(&mut self) {
        let list: Vec<(TrackFileId, String, PathBuf, Option<i64>)> = self
            .engine
            .track_files()
            .map(|(id, c)| {
                let path = std::path::absolute(&c.path).unwrap_or_else(|_| PathBuf::from(&c.path));
                (id, c.name.clone(), path, c.init_value)
            })
            .collect();
        self.tracked_files.clear();
        for (id, name, path, init) in list {
            if let Some(v) = init {
                match files::init_file(&path, v) {
                    Ok(true) => tracing::info!(
                        "vrrp_track_file {name}: created {} with {v}",
                        path.display()
                    ),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(
                        "vrrp_track_file {name}: cannot create {}: {e}",
                        path.display()
                    ),
                }
            }
            if let Some(w) = self.file_watch.as_mut() {
                if let Err(e) = w.watch(&path) {
                    tracing::warn!(
                        "vrrp_track_file {name}: cannot watch the folder of {}: {e} (changes are not seen)",
                        path.display()
                    );
                }
            }
            self.report_file(id, &name, &path, false);
            self.tracked_files.push((id, name, path));
        }
    }

    /// Reads one file (or takes 0 for one removed) and reports it.
    fn report_file(&mut self, id: TrackFileId, name: &str, path: &std::path::Path, gone: bool) {
        let value = if gone {
            Some(0)
        } else {
            files::read_value(path)
        };
        let Some(value) = value else {
            tracing::info!(
                "vrrp_track_file {name}: invalid number read from {} - ignoring",
                path.display()
            );
            return;
        };
        tracing::debug!("vrrp_track_file {name}: {value}");
        let now = self.timers_then_now();
        self.engine
            .handle(now, Input::TrackFile { file: id, value });
    }

    /// Files written, moved or removed in a watched folder.
    pub(super) fn on_file_events(&mut self, events: std::io::Result<Vec<FileEvent>>) {
        let events = match events {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("watching tracked files: {e}");
                return;
            }
        };
        for ev in events {
            let hits: Vec<(TrackFileId, String, PathBuf)> = self
                .tracked_files
                .iter()
                .filter(|(_, _, p)| *p == ev.path)
                .cloned()
                .collect();
            for (id, name, path) in hits {
                self.report_file(id, &name, &path, ev.gone);
            }
        }
    }
}
