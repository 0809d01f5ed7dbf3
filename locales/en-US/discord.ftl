# Discord: slash command metadata (dc-<path>; a leaf without one uses cmd-<word>) and what the
# bot posts there (panel, status message, alerts, chat mirror).

dc-stream = Start, stop or record the stream
dc-stream-start = Start streaming (then the starting scene, if configured)
dc-stream-stop = Stop streaming (ending scene, confirmed stop, offline scene)
dc-guard = The bitrate guard: status, on, off, triggers, dry-run
dc-guard-status = Show the bitrate guard
dc-guard-on = Let the guard switch scenes
dc-guard-off = Stop the guard from switching scenes
dc-twitch = Twitch: title, category, raid, markers, clips, ads
dc-restream = Restream targets
dc-restream-list = List the restream targets (keys masked)
dc-restream-on = Enable a restream target
dc-restream-off = Disable a restream target
dc-restream-add = Add a restream target (only you see the answer)
dc-restream-remove = Remove a restream target
dc-pc = The stream PC's power
dc-pc-status = Is the stream PC up?
dc-pc-wake = Wake the stream PC (Wake-on-LAN) and wait for it
dc-pc-restart = Restart the stream PC
    .force = Also while streaming
dc-pc-shutdown = Shut the stream PC down
    .force = Also while streaming
dc-service = Services on the bot's machine
dc-service-status = Show the services' states
dc-service-restart = Restart a service
dc-service-repair = Run the repair sequence
dc-logs = Show the last lines of a service's log
    .lines = How many lines (10–1000)
    .follow = Keep showing new lines for a while
dc-alert = Overlay alerts
dc-alert-test = Send a test alert to the overlay
dc-panel = Post a control panel with buttons in this channel

# Names of commands, subcommands, options and choices (discord-name-<word>), one per word of the tree.
# Discord accepts names of 1-32 characters, lowercase, without spaces (letters, digits, - and _);
# a name equal to the English word is not sent. Users always see the word in their own language;
# the bot still receives the English word.
discord-name-action = action
discord-name-ad = ad
discord-name-add = add
discord-name-alert = alert
discord-name-ban-ip = ban-ip
discord-name-bans = bans
discord-name-bitrate = bitrate
discord-name-brb = brb
discord-name-category = category
discord-name-channel = channel
discord-name-clip = clip
discord-name-command = command
discord-name-custom = custom
discord-name-dryrun = dryrun
discord-name-fix = fix
discord-name-follow = follow
discord-name-force = force
discord-name-guard = guard
discord-name-help = help
discord-name-hide = hide
discord-name-input = input
discord-name-ip = ip
discord-name-kind = kind
discord-name-lines = lines
discord-name-list = list
discord-name-live = live
discord-name-logs = logs
discord-name-low = low
discord-name-marker = marker
discord-name-mute = mute
discord-name-name = name
discord-name-off = off
discord-name-offline = offline
discord-name-on = on
discord-name-panel = panel
discord-name-pc = pc
discord-name-ping = ping
discord-name-query = query
discord-name-raid = raid
discord-name-record = record
discord-name-refresh = refresh
discord-name-remove = remove
discord-name-repair = repair
discord-name-restart = restart
discord-name-restored = restored
discord-name-restream = restream
discord-name-rtt = rtt
discord-name-rtt-offline = rtt-offline
discord-name-reset = reset
discord-name-scene = scene
discord-name-seconds = seconds
discord-name-service = service
discord-name-show = show
discord-name-shutdown = shutdown
discord-name-snooze = snooze
discord-name-source = source
discord-name-start = start
discord-name-starting = starting
discord-name-state = state
discord-name-status = status
discord-name-stop = stop
discord-name-stream = stream
discord-name-test = test
discord-name-text = text
discord-name-title = title
discord-name-trigger = trigger
discord-name-twitch = twitch
discord-name-unban-ip = unban-ip
discord-name-unmute = unmute
discord-name-url = url
discord-name-value = value
discord-name-version = version
discord-name-wake = wake

discord-wrong-guild = This bot only takes commands in its own server.
discord-bad-interaction = I don't know this command or its options (Discord may still show an old version; try again in a minute).
discord-panel-title = **Control panel** · scene: { $scene }
discord-panel-more-targets = { $count ->
        [one] One more restream target
       *[other] { $count } more restream targets
    } than the panel has room for: { $command }
discord-panel-start = Start stream
discord-panel-stop = Stop stream
discord-panel-fix = Fix ingest
discord-panel-guard-on = Guard on
discord-panel-guard-off = Guard off
discord-confirm = Really run `{ $command }`?
discord-confirm-yes = Yes, do it
discord-confirm-force = Yes, even while live
discord-alert-low = ⚠️ Low bitrate: { $bitrate ->
        [-1] no number
       *[other] { $bitrate } kbps
    } ({ $cause }, { $server }) → { $to }{ $dryrun ->
        [yes] {" "}(dry-run: not switched)
       *[no] {""}
    }
discord-alert-restored = ✅ Bitrate restored: { $bitrate ->
        [-1] no number
       *[other] { $bitrate } kbps
    } ({ $server }) → { $to }{ $dryrun ->
        [yes] {" "}(dry-run: not switched)
       *[no] {""}
    }
discord-alert-offline = 🛑 Ingest offline ({ $cause }{ $rtt ->
        [-1] {""}
       *[other] , RTT { $rtt } ms
    }) → { $to }{ $dryrun ->
        [yes] {" "}(dry-run: not switched)
       *[no] {""}
    }
discord-alert-raid = 🚀 Raid to { $channel }: { $outcome ->
        [stopped] stream stopped
        [disabled] raid stop is off
        [not_streaming] was not streaming
        [too_short] live too briefly to stop
       *[failed] stopping the stream failed
    }
discord-alert-obs-lost = 🔌 Lost OBS: { $reason }
discord-alert-obs-back = 🔌 OBS is back ({ $version })
discord-alert-auto-start = ▶️ Auto-start: { $server } is publishing, the stream started
discord-alert-auto-start-failed = ▶️ Auto-start: { $server } is publishing, but the stream did not start: { $error }
discord-alert-offline-timeout = 🛑 Offline too long: the stream was stopped
discord-alert-offline-timeout-dry-run = 🛑 [dry run] Offline too long: the stream would have been stopped
discord-alert-task-failed = 🧩 The bot's task { $task } failed and restarts: { $error }
discord-alert-service = ⚙️ Service { $key } ({ $unit }): { $from } → { $to }
discord-alert-pc-up = 🖥️ The stream PC answers
discord-alert-pc-down = 🖥️ The stream PC stopped answering
discord-alert-reconnecting = 📶 OBS lost the ingest and is reconnecting
discord-alert-reconnected = 📶 OBS is connected to the ingest again
discord-alert-congestion = 📶 The upload is congested: { $percent } %
discord-alert-congestion-cleared = 📶 The upload is no longer congested
discord-alert-dropped-frames = 🎞️ OBS is dropping frames: { $percent } % (network)
discord-alert-dropped-frames-cleared = 🎞️ OBS no longer drops frames
discord-alert-disk-low = 💾 The recording disk is running low: { $mb } MB free
discord-alert-disk-cleared = 💾 The recording disk is no longer low (or the recording stopped)
discord-alert-upload-gone = { $problem ->
        [reconnecting] 📶 Reconnecting
        [congestion] 📶 Congestion
        [dropped_frames] 🎞️ Dropped frames
       *[disk_low] 💾 Recording disk low
    }: over, as the { $problem ->
        [disk_low] recording stopped
       *[other] stream stopped
    } (or OBS went away)
discord-alert-eventsub-down = 📡 Twitch EventSub is down (chat commands, raids and live state wait for it): { $reason }
discord-alert-eventsub-back = 📡 Twitch EventSub is back
discord-audit-command = 🧾 { $who } ran { $command }: { $outcome }
discord-audit-switch = 🤖 { $by ->
        [ad_break] the ad break
       *[other] { $by }
    } switched { $from } → { $to }
discord-audit-raid-stop = 🤖 stopped the stream after the raid to { $channel }
discord-audit-auto-start = 🤖 auto-start for { $server }: { $outcome }
discord-audit-offline-stop = 🤖 the guard stopped the stream: offline too long
discord-live-post = 🔴 { $login } is live: { $title } ({ $category }) https://twitch.tv/{ $login }
discord-live-ended = ⚫ { $login } was live for { $duration }: { $title }
discord-alert-token-failing = 🔑 The Twitch token is failing: { $reason }
discord-alerts-suppressed = ({ $count } more { $count ->
        [one] alert was
       *[other] alerts were
    } not posted: flood control)
discord-mirror-dropped = ({ $count } chat { $count ->
        [one] line
       *[other] lines
    } skipped while Discord was slow)
discord-embed-title = Stream status
discord-embed-none = –
discord-embed-obs = Scene: **{ $scene }** · { $streaming ->
        [yes] streaming for { $uptime }
       *[no] not streaming
    }
discord-embed-upload = ⚠️ { $problem ->
        [reconnecting] OBS is reconnecting to the ingest
        [congestion] the upload is congested
        [dropped_frames] OBS is dropping frames
       *[disk_low] the recording disk is running low
    }
discord-embed-obs-down = Not connected: { $reason }
discord-obs-connecting = connecting…
discord-obs-offline = { $reason }
discord-obs-wrong-password = OBS refused the password (OBS_PASSWORD)
discord-obs-too-old = { $version } is too old: OBS 28 or newer is needed
discord-embed-ingest-name = Ingest
discord-embed-ingest = **{ $bitrate } kbps** · RTT { $rtt } ms · { $server } · guard: { $level }
discord-embed-ingest-none = No bitrate:
    { $reason }
discord-embed-token-missing = not logged in
discord-embed-token-failing = failing
discord-embed-token-login = failing: log in again with `stream-control twitch login`
discord-embed-twitch = { $live ->
        [yes] **Live** · { $viewers } viewers
        [no] Offline
       *[unknown] Live state unknown
    }
    Title: { $title }
    Category: { $category }
    Token valid for { $token } · EventSub: { $eventsub }
discord-embed-kick = Chat: { $chat ->
        [connected] connected
        [receiving] receiving
        [waiting] waiting for Kick's first delivery
        [connecting] connecting
        [reconnecting] reconnecting
        [gave_up] gave up (restart needed)
        [stopped] stopped
       *[other] not read
    } · { $reader ->
        [pusher] chat socket
        [webhook] webhook
       *[other] –
    }
discord-embed-chart = Last 30 minutes · bitrate 0–{ $kbps } kbps (green) · RTT 0–{ $ms } ms (orange) · dashed: low and recover thresholds · blue: scene switches
discord-private-posted = The answer is in { $channel }.
discord-logs-following = Following { $service } for { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }:
discord-logs-follow-ended = Stopped following { $service }.
discord-alert-restream-failed = 📡 Applying the restream targets failed (the previous ones are back): { $error }
discord-embed-restream = Restream
discord-embed-restream-target = { $enabled ->
        [yes] 🟢
       *[no] ⚪
    } { $name } ({ $platform })
discord-embed-restream-apply-failed = Last apply failed: { $error }
discord-embed-pc = Stream PC
discord-embed-pc-state = { $state ->
        [up] 🟢 answering
        [down] 🔴 not answering
       *[unknown] not checked yet
    }
discord-embed-services = Services
discord-panel-wake = Wake PC
discord-panel-restart = Restart PC
discord-panel-shutdown = Shut down PC

# The gateway: why Discord refused the bot for good (shown as the Discord status reason).
discord-gateway-token-refused = Discord refused the bot token (gateway close 4004). Put the bot's token (developer portal → your application → Bot → Reset Token) into DISCORD_TOKEN and restart stream-control; it does not reconnect until then.
discord-gateway-intents-refused = Discord refused the bot's gateway intents (close 4014). Turn them on in the developer portal (your application → Bot → Privileged Gateway Intents) and restart stream-control; it does not reconnect until then.
