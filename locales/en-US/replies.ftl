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
