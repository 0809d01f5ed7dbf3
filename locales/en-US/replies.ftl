# Replies, errors and names. Ids are kebab-case, grouped per feature.
# Every locale has exactly these ids (tests/it/locales.rs).

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
error-private = { $command } answers with private data (logs, addresses, bans, restream targets): ask on Discord or on the bot's console.
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

# obs: the connection
obs-not-connected = OBS is not connected.
obs-timeout = OBS did not answer in time.
obs-refused = OBS refused: { $reason }
obs-unknown-scene = OBS has no scene “{ $scene }”: check the scene names in config.ron.
obs-unknown-source = OBS has no media source “{ $source }”: check obs.fix in config.ron.
obs-start-not-confirmed = OBS did not confirm within { $seconds } s that the stream started.
obs-stop-not-confirmed = OBS did not confirm within { $seconds } s that the stream stopped: check OBS.
obs-stream-failed = OBS started the stream, but the output stopped again: is the ingest server up?
obs-unknown-input = OBS has no input “{ $input }”: check obs.audio_inputs in config.ron.
obs-no-audio = “{ $input }” has no audio in OBS: check obs.audio_inputs in config.ron.
obs-not-in-scene = The scene “{ $scene }” has no source “{ $source }”: check obs.sources in config.ron.

# obs: scenes
scene-switched = Switched to { $scene }.
scene-already = Already on { $scene }.
scene-ambiguous = “{ $query }” matches several scenes: { $candidates }.
scene-not-found = There is no scene “{ $query }”. Closest: { $candidates }.
scene-not-configured = No { $which } scene is set in config.ron (obs.scenes.{ $which }).
fix-restarted = Restarted { $sources }: playing again.
fix-not-playing = Restarted { $sources }, but { $failed } is not playing yet.
fix-bounced = Trying to fix: { $brb }, then back to { $live }.
refresh-done = Refreshed: back on { $scene }.

# obs: audio and sources
audio-muted = { $input } muted.
audio-unmuted = { $input } unmuted.
audio-ambiguous = “{ $query }” matches several audio inputs: { $candidates }.
audio-not-found = There is no audio input “{ $query }”. Closest: { $candidates }.
audio-none-configured = No audio input may be muted from here: list them in config.ron (obs.audio_inputs).
source-shown = { $source } shown in { $scene }.
source-hidden = { $source } hidden in { $scene }.
source-ambiguous = “{ $query }” matches several sources: { $candidates }.
source-not-found = There is no source “{ $query }”. Closest: { $candidates }.
source-none-configured = No source may be shown or hidden from here: list them in config.ron (obs.sources).

# obs: stream and recording
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
guard-status = Guard { $state }, scene { $level }{ $idle }. LOW below { $low }, back to LIVE at { $recover }, OFFLINE below { $offline }; RTT LOW at { $rtt }, OFFLINE at { $rttoffline }.{ $changed }
guard-state-on = switching
guard-state-off = paused
guard-state-dry-run = in dry run (deciding, not switching)
guard-level-manual = not the guard's (manual override)
guard-idle-not-streaming = {" "}(waiting: OBS is not streaming)
guard-idle-obs-offline = {" "}(waiting: OBS is not connected)
guard-idle-none = {""}
guard-changed = {" "}Changed at run time and kept across restarts: { $what } ({ $reset } puts back the configured thresholds).
guard-changed-none = {""}
guard-enabled = The guard switches scenes again.
guard-disabled = The guard is paused: it will not switch scenes until { $command }.
guard-dry-run-on = Dry run on: the guard decides and announces, but does not switch.
guard-dry-run-off = Dry run off: the guard switches scenes.
trigger-current = The { $trigger } trigger is { $value }.
trigger-set = The { $trigger } trigger is now { $value } (kept across restarts; { $reset } puts back the configured values).
trigger-reset = The configured triggers are back: LOW below { $low }, back to LIVE at { $recover }, OFFLINE below { $offline }; RTT LOW at { $rtt }, OFFLINE at { $rttoffline }.
trigger-off = off
trigger-kbps = { $value } kbps
trigger-ms = { $value } ms
trigger-low-above-recover = The low trigger must stay at or below the recovery bitrate ({ $recover } kbps).
trigger-offline-not-below-low = The offline trigger must stay below the low trigger ({ $low } kbps).
trigger-rtt-offline-not-above = The rtt-offline trigger must stay above the rtt trigger ({ $rtt } ms).

# overlay: alerts (shown and spoken on stream)
alert-low = LOW BITRATE!
alert-restored = CONNECTION RESTORED!
alert-offline = STREAM OFFLINE!
alert-ad-break = AD BREAK: { $seconds } s. Stay with us!

# overlay: the raid alert and the alert test
alert-raid = RAIDING { $channel }!
alert-test-custom = This is a test alert.
alert-test-sent = Test alert “{ $kind }” sent to { $clients ->
        [one] one overlay
       *[other] { $clients } overlays
    }.
alert-test-no-overlay = Test alert “{ $kind }” sent, but no overlay is connected.

# web: IP bans
ban-added = { $ip } is banned from the web server.
ban-already = { $ip } is already banned.
ban-removed = { $ip } is no longer banned.
ban-not-found = { $ip } is not banned.
bans-list = Banned: { $bans }
bans-none = No IP address is banned.
ban-entry-auto = { $ip } (since { $since }, automatically: bad keys)
ban-entry-manual = { $ip } (since { $since }, by { $by })

# discord
panel-posted = Control panel posted.
panel-on-discord = The control panel is made of Discord buttons: ask for it on Discord with { $command }.

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
twitch-not-live = The channel is not live on Twitch right now.
marker-set = Marker set at { $position } of the stream.
marker-set-described = Marker “{ $text }” set at { $position } of the stream.
clip-made = Clip: { $url }
clip-pending = Twitch has not finished the clip after { $seconds } seconds; if it does, it will be at { $url }
ad-started = Ad break of { $seconds } s started. The next one is possible in { $retry }.
ad-cooldown = Twitch does not allow another ad break yet{ $retry ->
        [none] .
       *[other] : try again in { $retry }.
    }
ad-snoozed = Next ad pushed back{ $next ->
        [none] {""}
       *[other] : it now comes in { $next }
    }; { $count ->
        [one] one snooze left
       *[other] { $count } snoozes left
    }.
ad-no-snooze = No snooze left{ $refresh ->
        [none] .
       *[other] : the next one comes in { $refresh }.
    }
marker-low = LOW { $cause ->
        [high_rtt] RTT { $rtt } ms
       *[other] { $kbps } kbps
    }
marker-offline = OFFLINE: { $cause ->
        [no_publisher] no publisher
        [zero_bitrate] 0 kbps
        [unreachable] stats unreachable
        [high_rtt] RTT { $rtt } ms
       *[other] { $cause }
    }
marker-restored = back LIVE
announce-low = Low bitrate ({ $kbps } kbps): switched to { $scene }.
announce-restored = Connection restored ({ $kbps } kbps): back to { $scene }.
announce-offline = Stream connection lost: switched to { $scene }.
announce-dry-run = [dry run] { $what }
announce-auto-start = { $server } is publishing: the stream is starting.
announce-reconnecting = The stream lost its connection to the ingest; OBS is reconnecting.
announce-reconnected = The stream is connected to the ingest again.
announce-congestion = The upload is congested ({ $percent } %): the stream may stutter.
announce-congestion-cleared = The upload is no longer congested.
announce-dropped-frames = OBS is dropping frames ({ $percent } %): the stream may stutter.
announce-dropped-frames-cleared = OBS no longer drops frames.
announce-disk-low = The recording disk is running low: { $mb } MB free.
announce-disk-cleared = The recording disk is no longer low.
announce-offline-timeout = Offline too long: the stream was stopped.
announce-task-failed = The bot's task { $task } failed and restarts.
announce-service = Service { $key }: { $from } → { $to }.
announce-pc-up = The stream PC answers.
announce-pc-down = The stream PC stopped answering.
announce-eventsub-down = The bot lost Twitch's events: chat commands wait until they are back.
announce-eventsub-back = Twitch's events are back: chat commands work again.

# kick
kick-not-logged-in = Kick is not logged in: run “stream-control kick login” on the bot's machine.
kick-login-required = Kick refused the bot's token: log in again with “stream-control kick login”.
kick-missing-scope = The Kick token lacks the permission { $scope }: log in again with “stream-control kick login”.
kick-rate-limited = Kick says: too many requests. Try again in a moment.
kick-bot-refused = Kick would not post as the application's bot: enable the bot in the Kick application's settings, or log in a bot account with “stream-control kick login --bot”.
kick-refused = Kick refused: { $reason }
kick-unreachable = Kick could not be reached; try again in a moment.

# programs run on this machine (nginx, systemctl, journalctl, ssh)
command-start-failed = Could not run { $program }: { $error }
command-timeout = { $program } did not finish within { $seconds } s and was stopped.
command-failed = { $program } failed (exit code { $code }): { $error }
command-needs-sudo = { $program } needs passwordless sudo for the bot's user (see docs/setup.md, “sudo”): { $error }

# restream: target refusals (inside restream-refused and restream-store-invalid)
endpoint-name-empty = the name is empty
endpoint-name-too-long = the name is longer than { $max } characters
endpoint-name-characters = a name may only contain the letters A–Z, digits, spaces, _ and -
endpoint-name-taken = a target named “{ $name }” exists already
endpoint-url-too-long = the URL is longer than { $max } characters
endpoint-url-characters = the URL contains characters that are not allowed (spaces, quotes, semicolons, #, dollar signs, braces or anything outside ASCII)
endpoint-url-scheme = the URL must start with rtmp:// or rtmps://
endpoint-url-host = the URL's host is not a host name or IP address
endpoint-url-port = the URL's port must be 1 to 65535
endpoint-url-path = the URL needs an application path (letters, digits, . _ ~ -), like rtmp://host/app/<key>
endpoint-key-missing = the URL has no stream key: paste the whole URL, rtmp://host/app/<key>
endpoint-key-too-long = the stream key is longer than { $max } characters
endpoint-key-characters = the stream key contains characters that are not allowed
endpoint-platform = “{ $platform }” is not a platform; use one of { $expected }
endpoint-rtmps-needs-stunnel = RTMPS needs the restream.stunnel section in config.ron (nginx-rtmp cannot push RTMPS itself)
endpoint-too-many = there are { $max } targets already
endpoint-malformed = the entry is not a target object

# restream
restream-list = Restream targets: { $endpoints }
restream-list-empty = No restream targets yet. Add one with { $command } (in Discord or on the console: the URL holds the stream key).
restream-endpoint = { $name } ({ $platform }, { $state }): { $url }
restream-state-on = on
restream-state-off = off
restream-names = { $names }
restream-enabled = { $name } is on. Pushing to: { $pushing }.{ $note }
restream-disabled = { $name } is off. Pushing to: { $pushing }.{ $note }
restream-already-on = { $name } was already on. Pushing to: { $pushing }.{ $note }
restream-already-off = { $name } was already off. Pushing to: { $pushing }.{ $note }
restream-added = Added { $name }. Pushing to: { $pushing }.{ $note }
restream-removed = Removed { $name }. Pushing to: { $pushing }.{ $note }
restream-add-public = Not in public chat: the URL holds the stream key. Add targets in Discord (the answer is private) or on the bot's console; if you just posted a key here, reset it on the platform.
restream-unknown = There is no restream target “{ $name }”. Targets: { $names }.
restream-refused = Refused: { $reason }.
restream-note-none = {""}
restream-note-next-publish = {" "}A running stream keeps its old pushes until the encoder reconnects.
restream-note-dropped = {" "}The encoder was disconnected so the new list applies now; it reconnects by itself.
restream-note-drop-failed = {" "}Could not disconnect the encoder ({ $error }): the new list applies when it reconnects.
restream-testing = Checking the new push list with nginx -t…
restream-restarting-stunnel = nginx -t passed; restarting stunnel for the RTMPS targets…
restream-dropping = nginx -t passed; disconnecting the encoder so the new list applies at once…
restream-reloading = nginx -t passed; reloading nginx…
restream-apply-failed = nginx refused the new push list, so nothing changed (the previous list is back): { $error }
restream-write-failed = Could not write nginx's push list, so nothing changed: { $error }
restream-stunnel-failed = stunnel did not restart with the new targets, so nothing changed (the previous list is back): { $error }
restream-rollback-failed = nginx refused the new push list ({ $error }) and restoring the previous one failed too ({ $rollback }): check nginx now!
restream-store-failed = Could not read or write the restream targets ({ $path }): { $error }
restream-store-invalid = The stored restream targets are invalid ({ $path }, entry { $index }: { $reason }): fix or remove the file.

# power: the stream PC
pc-on = The stream PC answers ({ $host }).
pc-off = The stream PC does not answer ({ $host }: { $error }).
pc-wake-sent = Magic packet sent to { $mac }; waiting up to { $seconds } s for the stream PC…
pc-wake-waiting = Waiting for the stream PC… { $seconds } s
pc-wake-up = The stream PC is up (it answered after { $seconds } s).
pc-wake-timeout = Magic packet sent, but the stream PC did not answer within { $seconds } s. Is Wake-on-LAN on in its BIOS and network card settings?
pc-wake-failed = Could not send the magic packet: { $error }
pc-streaming = OBS is streaming: { $command } would end the stream. To do it anyway: { $forced }
pc-restarting = The stream PC is restarting.
pc-shutting-down = The stream PC is shutting down.
pc-ssh-unreachable = Could not reach the stream PC over ssh: { $error }
pc-command-failed = The stream PC refused (exit code { $code }): { $error }

# services
service-unknown = There is no service “{ $name }”. Services: { $names }.
service-status = { $units }
service-unit-state = { $key } ({ $unit }): { $state }
service-state-active = running
service-state-inactive = stopped
service-state-failed = failed
service-state-activating = starting
service-state-deactivating = stopping
service-state-reloading = reloading
service-state-unknown = unknown ({ $error })
service-state-other = { $state }
service-restarted = Restarted: { $unit }.
service-repair-step = { $unit }
service-repair-step-failed = { $key }: { $error }
service-repair-done = Repair finished: { $steps }
logs-lines = The last { $count } lines of { $unit }:{ $lines }
logs-empty = { $unit } has no log lines.
