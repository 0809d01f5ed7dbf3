//! Permission levels, lowest first. Surfaces map platform roles onto them; `dispatch` compares.

use std::fmt;

/// Who may run a command. `Viewer < Vip < Moderator < Admin < Broadcaster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Anyone in chat.
    Viewer,
    /// Twitch VIPs (or the equivalent Discord role).
    Vip,
    /// Channel moderators.
    Moderator,
    /// People the operator lists as admins in the configuration.
    Admin,
    /// The channel owner (and the local console).
    Broadcaster,
}

impl Permission {
    /// Every level, lowest first.
    pub const ALL: [Permission; 5] = [
        Permission::Viewer,
        Permission::Vip,
        Permission::Moderator,
        Permission::Admin,
        Permission::Broadcaster,
    ];

    /// Stable lower-case name, used in configuration messages and locale keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Viewer => "viewer",
            Permission::Vip => "vip",
            Permission::Moderator => "moderator",
            Permission::Admin => "admin",
            Permission::Broadcaster => "broadcaster",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
