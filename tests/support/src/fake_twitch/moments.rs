//! Stream markers, clips and ads, as Helix answers them. The rules enforced, each from Twitch's
//! reference (dev.twitch.tv/docs/api/reference) unless said otherwise:
//!
//! * `POST /helix/streams/markers` (Create Stream Marker): scope `channel:manage:broadcast`;
//!   body `user_id` required and the token's user ("must match the user ID in the access
//!   token"); `description` at most 140 characters ("The description is limited to a maximum of
//!   140 characters", dev.twitch.tv/docs/api/markers); "To create a marker, the broadcaster must
//!   be streaming live" (same page) → 404. 200 `{data: [{id, created_at, position_seconds,
//!   description}]}`, `position_seconds` from the stream's start.
//! * `POST /helix/clips?broadcaster_id=` (Create Clip): scope `clips:edit`; the broadcaster must
//!   be live → 404; answered **202** `{data: [{id, edit_url}]}`. The clip appears in
//!   `GET /helix/clips?id=` only once made: "Creating a clip is an asynchronous process … If,
//!   after 15 seconds, Get Clips hasn't returned the clip, assume it failed"
//!   (dev.twitch.tv/docs/api/clips), and it can take longer (github.com/twitchdev/issues/issues/1135).
//!   The 202 is the reference's "202 Accepted: Successfully started the clip process".
//!   [`FakeTwitch::set_clip_delay`] sets how long making takes
//!   (`None`: never). Get Clips takes exactly one of `broadcaster_id`, `game_id`, `id` (up to 100
//!   ids) and answers every field twitch_api's `Clip` reads (`is_featured`, `vod_offset`, …).
//! * `POST /helix/channels/commercial` (Start Commercial): scope `channel:edit:commercial`; JSON
//!   body `broadcaster_id` (the token's user) and `length` ("If you request a commercial that's
//!   longer than 180 seconds, the API uses 180 seconds"); "only partners and affiliates may run
//!   commercials and they must be streaming live" → 400; another one within `retry_after` → 429.
//!   200 `{data: [{length, message: "", retry_after: 480}]}` (the reference's example), and
//!   EventSub gets `channel.ad_break.begin` (`is_automatic: false`, the caller as requester).
//! * `POST /helix/channels/ads/schedule/snooze?broadcaster_id=` (Snooze Next Ad): scope
//!   `channel:manage:ads`; the token's user; live → else 400; no snooze left → 429. Answers as
//!   production does, not as the reference's example: `snooze_refresh_at` and `next_ad_at` in
//!   Unix seconds, `0` for none (github.com/twitchdev/issues/issues/857, #879, #961: "The
//!   production API returns timestamps in seconds … since unix epoch"); each snooze moves the next
//!   ad 5 minutes later.

use super::*;

/// How long Twitch waits between commercials in the reference's example (`retry_after: 480`).
pub const COMMERCIAL_COOLDOWN: Duration = Duration::from_secs(480);
/// A snooze moves the next automatic ad this much later.
pub const SNOOZE_BY: Duration = Duration::from_secs(300);
/// Snoozes a channel starts with (the ads manager gives three).
pub const SNOOZES: u32 = 3;
/// When the next automatic ad comes, from the moment a channel goes live.
pub const FIRST_AD_AFTER: Duration = Duration::from_secs(30 * 60);

/// A marker the fake made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MadeMarker {
    pub user_id: String,
    pub description: String,
    pub position_seconds: u64,
}

/// A commercial the fake started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MadeCommercial {
    pub broadcaster_id: String,
    pub length: u64,
}

pub(super) struct Moments {
    markers: Vec<MadeMarker>,
    /// Clip id → (broadcaster id, creator id, when it is made; `None`: never).
    clips: Vec<(String, String, String, Option<Instant>)>,
    /// How long making a clip takes (`None`: it never appears).
    clip_delay: Option<Duration>,
    commercials: Vec<MadeCommercial>,
    /// Per broadcaster: no commercial before this.
    commercial_cooldown: HashMap<String, Instant>,
    /// Broadcasters that may run ads (partners and affiliates).
    not_affiliates: Vec<String>,
    /// Per broadcaster: snoozes left and when the next automatic ad comes (Unix seconds).
    ads: HashMap<String, (u32, u64)>,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            markers: Vec::new(),
            clips: Vec::new(),
            clip_delay: Some(Duration::from_millis(1500)),
            commercials: Vec::new(),
            commercial_cooldown: HashMap::new(),
            not_affiliates: Vec::new(),
            ads: HashMap::new(),
        }
    }
}

impl FakeTwitch {
    /// The markers made so far.
    pub fn markers(&self) -> Vec<MadeMarker> {
        lock(&self.shared).moments.markers.clone()
    }

    /// Waits (at most `timeout`) until `count` markers were made; returns those made by then.
    pub async fn wait_for_markers(&self, count: usize, timeout: Duration) -> Vec<MadeMarker> {
        let mut seen = self.shared.requests_seen.subscribe();
        let _ = tokio::time::timeout(timeout, async {
            while lock(&self.shared).moments.markers.len() < count {
                if seen.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        self.markers()
    }

    /// How long Twitch takes to make a clip (default 1.5 s); `None`: clips never appear.
    pub fn set_clip_delay(&self, delay: Option<Duration>) {
        lock(&self.shared).moments.clip_delay = delay;
    }

    /// Clips asked for so far: (clip id, broadcaster id).
    pub fn clips(&self) -> Vec<(String, String)> {
        lock(&self.shared)
            .moments
            .clips
            .iter()
            .map(|(id, broadcaster, _, _)| (id.clone(), broadcaster.clone()))
            .collect()
    }

    /// The commercials started so far.
    pub fn commercials(&self) -> Vec<MadeCommercial> {
        lock(&self.shared).moments.commercials.clone()
    }

    /// Make `user_id` a channel that is neither partner nor affiliate (no ads).
    pub fn set_not_affiliate(&self, user_id: &str) {
        lock(&self.shared)
            .moments
            .not_affiliates
            .push(user_id.to_string());
    }

    /// Set the snoozes `user_id` has left.
    pub fn set_snoozes(&self, user_id: &str, left: u32) {
        let mut state = lock(&self.shared);
        let next = unix_now() + FIRST_AD_AFTER.as_secs();
        state
            .moments
            .ads
            .entry(user_id.to_string())
            .or_insert((SNOOZES, next))
            .0 = left;
    }

    /// When `user_id`'s next automatic ad comes (Unix seconds), as the ads manager sees it.
    pub fn next_ad_at(&self, user_id: &str) -> Option<u64> {
        lock(&self.shared).moments.ads.get(user_id).map(|a| a.1)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn not_the_caller(field: &str) -> Reply {
    Reply::unauthorized(&format!(
        "The ID in {field} must match the user ID found in the request's OAuth token."
    ))
}

pub(super) fn create_marker(
    shared: &Shared,
    req: &Incoming<'_>,
    caller: &Caller,
) -> Result<Reply, Reply> {
    caller.require("channel:manage:broadcast")?;
    let body = parse_json_body(req)?;
    let user_id = match body.get("user_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(missing("user_id")),
    };
    if user_id != caller.user_id {
        return Err(Reply::helix_error(
            StatusCode::FORBIDDEN,
            "The user in the access token is not authorized to create markers for the specified channel.",
        ));
    }
    let description = match body.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) if text.chars().count() > 140 => {
            return Err(Reply::bad_request(
                "The description field may not exceed 140 characters.",
            ));
        }
        Some(Value::String(text)) => text.clone(),
        Some(_) => return Err(Reply::bad_request("Malformed request body")),
    };
    let mut state = lock(shared);
    let Some(live) = state.live.get(&user_id) else {
        return Err(Reply::helix_error(
            StatusCode::NOT_FOUND,
            "The user in the user_id field is not streaming live.",
        ));
    };
    let position_seconds = live.started.elapsed().as_secs();
    let id = format!(
        "{:032x}",
        shared.counter.fetch_add(1, Ordering::Relaxed) + 0xabc0
    );
    state.moments.markers.push(MadeMarker {
        user_id,
        description: description.clone(),
        position_seconds,
    });
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": [{
            "id": id,
            "created_at": rfc3339(SystemTime::now(), true),
            "position_seconds": position_seconds,
            "description": description,
        }] }),
    ))
}

pub(super) fn create_clip(
    shared: &Shared,
    req: &Incoming<'_>,
    caller: &Caller,
) -> Result<Reply, Reply> {
    caller.require("clips:edit")?;
    let Some(broadcaster) = param(&req.query, "broadcaster_id").filter(|v| !v.is_empty()) else {
        return Err(missing("broadcaster_id"));
    };
    let mut state = lock(shared);
    if !state.live.contains_key(broadcaster) {
        return Err(Reply::helix_error(
            StatusCode::NOT_FOUND,
            "The broadcaster in the broadcaster_id query parameter must be broadcasting live.",
        ));
    }
    let id = format!(
        "FakeClipSlug{}-{:x}",
        shared.counter.fetch_add(1, Ordering::Relaxed),
        shared.random.hash_one(broadcaster) & 0xffff
    );
    let ready = state.moments.clip_delay.map(|d| Instant::now() + d);
    state.moments.clips.push((
        id.clone(),
        broadcaster.to_string(),
        caller.user_id.clone(),
        ready,
    ));
    Ok(Reply::json(
        StatusCode::ACCEPTED,
        json!({ "data": [{
            "id": id,
            "edit_url": format!("https://clips.twitch.tv/{id}/edit"),
        }] }),
    ))
}

pub(super) fn get_clips(shared: &Shared, req: &Incoming<'_>) -> Result<Reply, Reply> {
    let ids = params_all(&req.query, "id");
    let given = [
        param(&req.query, "broadcaster_id").is_some(),
        param(&req.query, "game_id").is_some(),
        !ids.is_empty(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(Reply::bad_request(
            "The request must specify only one of the broadcaster_id, game_id, or id query parameters.",
        ));
    }
    if ids.len() > 100 {
        return Err(Reply::bad_request(
            "The number of \"id\" parameters must not exceed 100",
        ));
    }
    let state = lock(shared);
    let now = Instant::now();
    let broadcaster = param(&req.query, "broadcaster_id");
    let data: Vec<Value> = state
        .moments
        .clips
        .iter()
        .filter(|(_, _, _, ready)| ready.is_some_and(|at| at <= now))
        .filter(|(id, owner, _, _)| ids.contains(&id.as_str()) || broadcaster == Some(owner.as_str()))
        .map(|(id, owner, creator, _)| {
            let name = |user: &str| {
                state
                    .users
                    .get(user)
                    .map_or_else(String::new, |u| u.display_name.clone())
            };
            let channel = state.channels.get(owner).cloned().unwrap_or_else(default_channel);
            json!({
                "id": id,
                "url": format!("https://clips.twitch.tv/{id}"),
                "embed_url": format!("https://clips.twitch.tv/embed?clip={id}"),
                "broadcaster_id": owner,
                "broadcaster_name": name(owner),
                "creator_id": creator,
                "creator_name": name(creator),
                "video_id": "",
                "game_id": channel.game_id,
                "language": "en",
                "title": channel.title,
                "view_count": 0,
                "created_at": rfc3339(SystemTime::now(), false),
                "thumbnail_url": format!("https://clips-media-assets2.twitch.tv/{id}-preview-480x272.jpg"),
                "duration": 30.0,
                "vod_offset": null,
                "is_featured": false,
            })
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": data, "pagination": {} }),
    ))
}

pub(super) fn start_commercial(
    shared: &Shared,
    req: &Incoming<'_>,
    caller: &Caller,
) -> Result<Reply, Reply> {
    caller.require("channel:edit:commercial")?;
    let body = parse_json_body(req)?;
    let Some(broadcaster) = body.get("broadcaster_id").and_then(Value::as_str) else {
        return Err(missing("broadcaster_id"));
    };
    if broadcaster != caller.user_id {
        return Err(not_the_caller("broadcaster_id"));
    }
    let Some(length) = body.get("length").and_then(Value::as_u64) else {
        return Err(missing("length"));
    };
    let length = length.min(180);
    let mut state = lock(shared);
    if state
        .moments
        .not_affiliates
        .iter()
        .any(|b| b == broadcaster)
    {
        return Err(Reply::bad_request(
            "The broadcaster must be a partner or affiliate to run commercials.",
        ));
    }
    if !state.live.contains_key(broadcaster) {
        return Err(Reply::bad_request(
            "To start a commercial, the broadcaster must be streaming live.",
        ));
    }
    let now = Instant::now();
    if state
        .moments
        .commercial_cooldown
        .get(broadcaster)
        .is_some_and(|until| *until > now)
    {
        return Err(Reply::helix_error(
            StatusCode::TOO_MANY_REQUESTS,
            "The broadcaster may not run another commercial until the cooldown period expires.",
        ));
    }
    state
        .moments
        .commercial_cooldown
        .insert(broadcaster.to_string(), now + COMMERCIAL_COOLDOWN);
    state.moments.commercials.push(MadeCommercial {
        broadcaster_id: broadcaster.to_string(),
        length,
    });
    let user = state.users.get(broadcaster).cloned();
    drop(state);
    if let (Some(eventsub), Some(user)) = (&shared.eventsub, user) {
        let user = crate::fake_eventsub::User::new(&user.id, &user.login, &user.display_name);
        eventsub.send_ad_break_begin(&user, Some(&user), length);
    }
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": [{
            "length": length,
            "message": "",
            "retry_after": COMMERCIAL_COOLDOWN.as_secs(),
        }] }),
    ))
}

pub(super) fn snooze_next_ad(
    shared: &Shared,
    req: &Incoming<'_>,
    caller: &Caller,
) -> Result<Reply, Reply> {
    caller.require("channel:manage:ads")?;
    let Some(broadcaster) = param(&req.query, "broadcaster_id").filter(|v| !v.is_empty()) else {
        return Err(missing("broadcaster_id"));
    };
    if broadcaster != caller.user_id {
        return Err(not_the_caller("broadcaster_id"));
    }
    let mut state = lock(shared);
    if !state.live.contains_key(broadcaster) {
        return Err(Reply::bad_request("The channel is not live."));
    }
    let next = unix_now() + FIRST_AD_AFTER.as_secs();
    let (left, next_ad_at) = state
        .moments
        .ads
        .entry(broadcaster.to_string())
        .or_insert((SNOOZES, next));
    if *left == 0 {
        return Err(Reply::helix_error(
            StatusCode::TOO_MANY_REQUESTS,
            "The channel doesn't have any snoozes left.",
        ));
    }
    *left -= 1;
    *next_ad_at += SNOOZE_BY.as_secs();
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": [{
            "snooze_count": *left,
            // Production's form: Unix seconds, 0 for none (see the module's note).
            "snooze_refresh_at": 0,
            "next_ad_at": *next_ad_at,
        }] }),
    ))
}
