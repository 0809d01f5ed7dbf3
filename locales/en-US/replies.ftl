# Replies, errors and names. Ids are kebab-case, grouped per feature.
# Every locale has exactly these ids (tests/locales.rs).

# meta
pong = Pong!
version = stream-control { $version }
help-list = Commands you can use: { $commands }
help-command = { $usage } — { $description }
help-alias = { $alias } is short for { $target }
help-unknown = There is no command “{ $topic }” you can use. Try { $help }.

# status
status-summary = Up { $uptime }. Enabled: { $enabled }. Not enabled: { $disabled }. { $tasks }
status-all-running = All tasks running.
status-task-problem = { $task } is restarting after an error ({ $restarts } restarts)
status-none = none

# errors
error-not-enabled = { $feature } is not enabled on this bot.
error-permission = { $command } needs { $level } or higher.
error-cooldown = { $command } is cooling down; try again in { $seconds } s.
error-internal = Something went wrong; the details are in the bot's log.
error-usage = Usage: { $usage } ({ $problem })
error-unknown-command = Unknown command. Try { $help }.

# parse problems (inside error-usage)
parse-missing = missing <{ $argument }>
parse-unexpected = unexpected “{ $found }”
parse-choice = <{ $argument }> must be one of { $expected }, not “{ $found }”
parse-not-a-number = <{ $argument }> “{ $found }” is not a number
parse-out-of-range = <{ $argument }> must be between { $min } and { $max }
parse-too-long = <{ $argument }> is longer than { $max } characters
parse-bad-characters = <{ $argument }> contains characters that are not allowed
parse-bad-url = <{ $argument }> must be an rtmp:// or rtmps:// URL with a host
parse-not-an-ip = <{ $argument }> “{ $found }” is not an IP address

# permission levels
level-viewer = viewer
level-vip = VIP
level-moderator = moderator
level-admin = admin
level-broadcaster = broadcaster

# features
feature-obs = OBS control
feature-guard = the bitrate guard
feature-twitch = Twitch
feature-discord = Discord
feature-restream = restreaming
feature-power = stream-PC power
feature-services = services and logs
feature-overlay = the overlay
feature-web = the status page
feature-bans = IP bans

# obs
obs-not-connected = OBS is not connected.
obs-timeout = OBS did not answer in time.
obs-refused = OBS refused: { $reason }
obs-unknown-scene = OBS has no scene “{ $scene }”: check the scene names in config.ron.
obs-unknown-source = OBS has no media source “{ $source }”: check obs.fix in config.ron.
obs-start-not-confirmed = OBS did not confirm within { $seconds } s that the stream started.
obs-stop-not-confirmed = OBS did not confirm within { $seconds } s that the stream stopped: check OBS.
obs-stream-failed = OBS started the stream, but the output stopped again: is the ingest server up?

# scene
scene-switched = Switched to { $scene }.
scene-already = Already on { $scene }.
scene-ambiguous = “{ $query }” matches several scenes: { $candidates }.
scene-not-found = There is no scene “{ $query }”. Closest: { $candidates }.
scene-not-configured = No { $which } scene is set in config.ron (obs.scenes.{ $which }).
fix-restarted = Restarted { $sources }: playing again.
fix-not-playing = Restarted { $sources }, but { $failed } is not playing yet.
fix-bounced = Trying to fix: { $brb }, then back to { $live }.
refresh-done = Refreshed: back on { $scene }.

# stream
stream-started = Stream started.
stream-started-scene = Stream started; showing { $scene }.
stream-already-live = The stream is already live.
stream-stopped = Stream ended.
stream-not-live = The stream is not live.
record-started = Recording started.
record-stopped = Recording stopped.

# guard
guard-bitrate = { $servers }
guard-no-servers = No stats servers are configured.
guard-server-live = { $name }: { $kbps } kbps
guard-server-live-rtt = { $name }: { $kbps } kbps, { $rtt } ms RTT
guard-server-no-publisher = { $name }: nobody is publishing
guard-server-error = { $name }: { $error }
guard-server-waiting = { $name }: no answer yet
guard-status = Guard { $state }, scene { $level }{ $idle }. LOW below { $low }, back to LIVE at { $recover }, OFFLINE below { $offline }; RTT LOW at { $rtt }, OFFLINE at { $rttoffline }.
guard-state-on = switching
guard-state-off = paused
guard-state-dry-run = in dry run (deciding, not switching)
guard-level-manual = not the guard's (manual override)
guard-idle-not-streaming = {" "}(waiting: OBS is not streaming)
guard-idle-obs-offline = {" "}(waiting: OBS is not connected)
guard-idle-none = {""}
guard-enabled = The guard switches scenes again.
guard-disabled = The guard is paused: it will not switch scenes until { $command }.
guard-dry-run-on = Dry run on: the guard decides and announces, but does not switch.
guard-dry-run-off = Dry run off: the guard switches scenes.
trigger-current = The { $trigger } trigger is { $value }.
trigger-set = The { $trigger } trigger is now { $value } (until the bot restarts).
trigger-off = off
trigger-kbps = { $value } kbps
trigger-ms = { $value } ms
trigger-low-above-recover = The low trigger must stay at or below the recovery bitrate ({ $recover } kbps).
trigger-offline-not-below-low = The offline trigger must stay below the low trigger ({ $low } kbps).
trigger-rtt-offline-not-above = The rtt-offline trigger must stay above the rtt trigger ({ $rtt } ms).

# overlay alerts (shown and spoken on stream)
alert-low = LOW BITRATE!
alert-restored = CONNECTION RESTORED!
alert-offline = STREAM OFFLINE!

# overlay alerts (shown and spoken on stream), alert test
alert-raid = RAIDING { $channel }!
alert-test-custom = This is a test alert.
alert-test-sent = Test alert “{ $kind }” sent to { $clients ->
        [one] one overlay
       *[other] { $clients } overlays
    }.
alert-test-no-overlay = Test alert “{ $kind }” sent, but no overlay is connected.

# bans (web server)
bans-discord-only = IP bans are managed on Discord only.
ban-added = { $ip } is banned from the web server.
ban-already = { $ip } is already banned.
ban-removed = { $ip } is no longer banned.
ban-not-found = { $ip } is not banned.
bans-list = Banned: { $bans }
bans-none = No IP address is banned.
ban-entry-auto = { $ip } (since { $since }, automatically: bad keys)
ban-entry-manual = { $ip } (since { $since }, by { $by })

# twitch
twitch-not-logged-in = Twitch is not logged in: run “stream-control twitch login” on the bot's machine.
twitch-unauthorized = Twitch refused the bot's token: log in again with “stream-control twitch login”.
twitch-missing-scope = The Twitch token lacks the permission { $scope }: log in again with “stream-control twitch login”.
twitch-rate-limited = Twitch says: too many requests. Try again in a moment.
twitch-refused = Twitch refused: { $reason }
twitch-unreachable = Twitch could not be reached; try again in a moment.
title-set = Title set: { $title }
category-set = Category set: { $category }
category-ambiguous = “{ $query }” matches several categories: { $candidates }.
category-not-found = No category matches “{ $query }”.
raid-started = Raiding { $channel }!
raid-unknown-user = There is no Twitch channel “{ $channel }”.
announce-low = Low bitrate ({ $kbps } kbps): switched to { $scene }.
announce-restored = Connection restored ({ $kbps } kbps): back to { $scene }.
announce-offline = Stream connection lost: switched to { $scene }.
announce-dry-run = [dry run] { $what }
