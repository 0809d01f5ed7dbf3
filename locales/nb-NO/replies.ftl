# Svar, feil og navn. Samme id-er som en-US (tests/locales.rs).

# meta
pong = Pong!
version = stream-control { $version }
help-list = Kommandoer du kan bruke: { $commands }
help-command = { $usage } — { $description }
help-alias = { $alias } er kort for { $target }
help-unknown = Det finnes ingen kommando «{ $topic }» som du kan bruke. Prøv { $help }.

# status
status-summary = Oppe i { $uptime }. Aktivert: { $enabled }. Ikke aktivert: { $disabled }. { $tasks }
status-all-running = Alle oppgaver kjører.
status-task-problem = { $task } startes på nytt etter en feil ({ $restarts } omstarter)
status-none = ingen

# errors
error-not-enabled = { $feature } er ikke aktivert i denne boten.
error-permission = { $command } krever { $level } eller høyere.
error-cooldown = { $command } har pause; prøv igjen om { $seconds } s.
error-internal = Noe gikk galt; detaljene står i botens logg.
error-usage = Bruk: { $usage } ({ $problem })
error-unknown-command = Ukjent kommando. Prøv { $help }.

# parse problems
parse-missing = mangler <{ $argument }>
parse-unexpected = uventet «{ $found }»
parse-choice = <{ $argument }> må være en av { $expected }, ikke «{ $found }»
parse-not-a-number = <{ $argument }> «{ $found }» er ikke et tall
parse-out-of-range = <{ $argument }> må være mellom { $min } og { $max }
parse-too-long = <{ $argument }> er lengre enn { $max } tegn
parse-bad-characters = <{ $argument }> inneholder tegn som ikke er tillatt
parse-bad-url = <{ $argument }> må være en rtmp://- eller rtmps://-URL med vertsnavn
parse-not-an-ip = <{ $argument }> «{ $found }» er ikke en IP-adresse

# permission levels
level-viewer = seer
level-vip = VIP
level-moderator = moderator
level-admin = administrator
level-broadcaster = kanaleier

# features
feature-obs = OBS-styring
feature-guard = bitratevakten
feature-twitch = Twitch
feature-discord = Discord
feature-restream = restrømming
feature-power = strøm til strømme-PC-en
feature-services = tjenester og logger
feature-overlay = overlegget
feature-web = statussiden
feature-bans = IP-blokkering
