//! What makes a configuration runnable: checks done before an engine is built or reconfigured.

use crate::config::Config;
use crate::types::{Family, Version};
use core::fmt;
use std::collections::BTreeMap;

/// A configuration the engine cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The instance concerned, if any.
    pub instance: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.instance {
            Some(i) => write!(f, "vrrp_instance {i}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

fn err(instance: &str, message: String) -> ConfigError {
    ConfigError {
        instance: Some(instance.to_string()),
        message,
    }
}

pub(crate) fn check_config(config: &Config) -> Result<(), ConfigError> {
    let mut seen = BTreeMap::new();
    for i in &config.instances {
        if i.vrid == 0 {
            return Err(err(
                &i.name,
                "virtual_router_id 0 is not valid (1..255)".into(),
            ));
        }
        let family = i.family();
        if i.vips.iter().any(|v| Family::of(&v.addr) != family) {
            return Err(err(&i.name, "virtual_ipaddress mixes IPv4 and IPv6".into()));
        }
        if i.version == Version::V2 && family == Family::Ipv6 {
            return Err(err(
                &i.name,
                "VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6".into(),
            ));
        }
        if i.unicast_peers
            .iter()
            .chain(&i.unicast_src)
            .any(|a| Family::of(a) != family)
        {
            return Err(err(
                &i.name,
                "unicast addresses are not of the VIPs' family".into(),
            ));
        }
        if let Some(other) = seen.insert((i.interface.clone(), family, i.vrid), i.name.clone()) {
            return Err(err(
                &i.name,
                format!(
                    "virtual_router_id {} on {} is already used by vrrp_instance {other}",
                    i.vrid, i.interface
                ),
            ));
        }
        for t in &i.track_scripts {
            if !config.scripts.iter().any(|s| s.name == t.name) {
                return Err(err(
                    &i.name,
                    format!("track_script {} names no vrrp_script", t.name),
                ));
            }
        }
        for t in &i.track_files {
            if !config.track_files.iter().any(|f| f.name == t.name) {
                return Err(err(
                    &i.name,
                    format!("track_file {} names no vrrp_track_file", t.name),
                ));
            }
        }
    }
    Ok(())
}
