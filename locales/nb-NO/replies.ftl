# Svar, feil og navn. Samme id-er som en-US (tests/it/locales.rs).

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
error-private = { $command } svarer med private data (logger, adresser, utestengelser, restream-mål): spør i Discord eller på botens konsoll.
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

# obs: the connection
obs-not-connected = OBS er ikke tilkoblet.
obs-timeout = OBS svarte ikke i tide.
obs-refused = OBS avviste: { $reason }
obs-unknown-scene = OBS har ingen scene «{ $scene }»: sjekk scenenavnene i config.ron.
obs-unknown-source = OBS har ingen mediekilde «{ $source }»: sjekk obs.fix i config.ron.
obs-start-not-confirmed = OBS bekreftet ikke innen { $seconds } s at strømmen startet.
obs-stop-not-confirmed = OBS bekreftet ikke innen { $seconds } s at strømmen stoppet: sjekk OBS.
obs-stream-failed = OBS startet strømmen, men utgangen stoppet igjen: kjører mottaksserveren?
obs-unknown-input = OBS har ingen inngang «{ $input }»: sjekk obs.audio_inputs i config.ron.
obs-no-audio = «{ $input }» har ingen lyd i OBS: sjekk obs.audio_inputs i config.ron.
obs-not-in-scene = Scenen «{ $scene }» har ingen kilde «{ $source }»: sjekk obs.sources i config.ron.

# obs: scenes
scene-switched = Byttet til { $scene }.
scene-already = Allerede på { $scene }.
scene-ambiguous = «{ $query }» passer til flere scener: { $candidates }.
scene-not-found = Det finnes ingen scene «{ $query }». Nærmest: { $candidates }.
scene-not-configured = Ingen { $which }-scene er satt i config.ron (obs.scenes.{ $which }).
fix-restarted = Startet { $sources } på nytt: spiller igjen.
fix-not-playing = Startet { $sources } på nytt, men { $failed } spiller ikke ennå.
fix-bounced = Prøver å fikse: { $brb }, så tilbake til { $live }.
refresh-done = Oppdatert: tilbake på { $scene }.

# obs: audio and sources
audio-muted = { $input } dempet.
audio-unmuted = { $input } ikke lenger dempet.
audio-ambiguous = «{ $query }» passer til flere lydinnganger: { $candidates }.
audio-not-found = Det finnes ingen lydinngang «{ $query }». Nærmest: { $candidates }.
audio-none-configured = Ingen lydinngang kan dempes herfra: list dem i config.ron (obs.audio_inputs).
source-shown = { $source } vises i { $scene }.
source-hidden = { $source } skjult i { $scene }.
source-ambiguous = «{ $query }» passer til flere kilder: { $candidates }.
source-not-found = Det finnes ingen kilde «{ $query }». Nærmest: { $candidates }.
source-none-configured = Ingen kilde kan vises eller skjules herfra: list dem i config.ron (obs.sources).

# obs: stream and recording
stream-started = Strømmen er startet.
stream-started-scene = Strømmen er startet; viser { $scene }.
stream-already-live = Strømmen er allerede direkte.
stream-stopped = Strømmen er avsluttet.
stream-not-live = Strømmen er ikke direkte.
record-started = Opptaket er startet.
record-stopped = Opptaket er stoppet.

# guard
guard-bitrate = { $servers }
guard-no-servers = Ingen statistikkservere er satt opp.
guard-server-live = { $name }: { $kbps } kbps
guard-server-live-rtt = { $name }: { $kbps } kbps, { $rtt } ms RTT
guard-server-no-publisher = { $name }: ingen sender
guard-server-error = { $name }: { $error }
guard-server-waiting = { $name }: ikke svart ennå
guard-status = Vakten { $state }, scene { $level }{ $idle }. LOW under { $low }, tilbake til LIVE ved { $recover }, OFFLINE under { $offline }; RTT LOW ved { $rtt }, OFFLINE ved { $rttoffline }.{ $changed }
guard-state-on = bytter scener
guard-state-off = er satt på pause
guard-state-dry-run = kjører på prøve (bestemmer, bytter ikke)
guard-level-manual = ikke vaktens (manuell overstyring)
guard-idle-not-streaming = {" "}(venter: OBS strømmer ikke)
guard-idle-obs-offline = {" "}(venter: OBS er ikke tilkoblet)
guard-idle-none = {""}
guard-changed = {" "}Endret mens boten kjører, og beholdt ved omstart: { $what } ({ $reset } setter grensene tilbake til konfigurasjonen).
guard-changed-none = {""}
guard-enabled = Vakten bytter scener igjen.
guard-disabled = Vakten er satt på pause: den bytter ikke scener før { $command }.
guard-dry-run-on = Prøvekjøring på: vakten bestemmer og melder, men bytter ikke.
guard-dry-run-off = Prøvekjøring av: vakten bytter scener.
trigger-current = Grensen { $trigger } er { $value }.
trigger-set = Grensen { $trigger } er nå { $value } (beholdt ved omstart; { $reset } setter tilbake verdiene fra konfigurasjonen).
trigger-reset = Grensene fra konfigurasjonen gjelder igjen: LOW under { $low }, tilbake til LIVE ved { $recover }, OFFLINE under { $offline }; RTT LOW ved { $rtt }, OFFLINE ved { $rttoffline }.
trigger-off = av
trigger-kbps = { $value } kbps
trigger-ms = { $value } ms
trigger-low-above-recover = Grensen low må være på eller under bitraten for gjenoppretting ({ $recover } kbps).
trigger-offline-not-below-low = Grensen offline må være under grensen low ({ $low } kbps).
trigger-rtt-offline-not-above = Grensen rtt-offline må være over grensen rtt ({ $rtt } ms).

# overlay: alerts (shown and spoken on stream)
alert-low = LAV BITRATE!
alert-restored = FORBINDELSEN ER TILBAKE!
alert-offline = STRØMMEN ER NEDE!
alert-ad-break = REKLAMEPAUSE: { $seconds } s. Bli med videre!

# overlay: the raid alert and the alert test
alert-raid = RAIDER { $channel }!
alert-test-custom = Dette er et testvarsel.
alert-test-sent = Testvarselet «{ $kind }» er sendt til { $clients ->
        [one] ett overlegg
       *[other] { $clients } overlegg
    }.
alert-test-no-overlay = Testvarselet «{ $kind }» er sendt, men ingen overlegg er tilkoblet.

# web: IP bans
ban-added = { $ip } er utestengt fra webserveren.
ban-already = { $ip } er allerede utestengt.
ban-removed = { $ip } er ikke lenger utestengt.
ban-not-found = { $ip } er ikke utestengt.
bans-list = Utestengt: { $bans }
bans-none = Ingen IP-adresser er utestengt.
ban-entry-auto = { $ip } (siden { $since }, automatisk: feil nøkler)
ban-entry-manual = { $ip } (siden { $since }, av { $by })

# discord
panel-posted = Kontrollpanelet er lagt ut.
panel-on-discord = Kontrollpanelet består av Discord-knapper: be om det på Discord med { $command }.

# twitch
twitch-not-logged-in = Twitch er ikke logget inn: kjør «stream-control twitch login» på maskinen til boten.
twitch-unauthorized = Twitch avviste tokenet til boten: logg inn igjen med «stream-control twitch login».
twitch-missing-scope = Twitch-tokenet mangler tillatelsen { $scope }: logg inn igjen med «stream-control twitch login».
twitch-rate-limited = Twitch sier: for mange forespørsler. Prøv igjen om litt.
twitch-refused = Twitch avviste: { $reason }
twitch-unreachable = Fikk ikke kontakt med Twitch; prøv igjen om litt.
title-set = Tittel satt: { $title }
category-set = Kategori satt: { $category }
category-ambiguous = «{ $query }» passer til flere kategorier: { $candidates }.
category-not-found = Ingen kategori passer til «{ $query }».
raid-started = Raider { $channel }!
raid-unknown-user = Det finnes ingen Twitch-kanal «{ $channel }».
twitch-not-live = Kanalen er ikke direkte på Twitch nå.
marker-set = Markør satt ved { $position } i strømmen.
marker-set-described = Markøren «{ $text }» satt ved { $position } i strømmen.
clip-made = Klipp: { $url }
clip-pending = Twitch er ikke ferdig med klippet etter { $seconds } sekunder; blir det ferdig, ligger det på { $url }
ad-started = Reklamepause på { $seconds } s startet. Neste er mulig om { $retry }.
ad-cooldown = Twitch tillater ikke en ny reklamepause ennå{ $retry ->
        [none] .
       *[other] : prøv igjen om { $retry }.
    }
ad-snoozed = Neste reklame er utsatt{ $next ->
        [none] {""}
       *[other] : den kommer nå om { $next }
    }; { $count ->
        [one] én utsettelse igjen
       *[other] { $count } utsettelser igjen
    }.
ad-no-snooze = Ingen utsettelser igjen{ $refresh ->
        [none] .
       *[other] : neste kommer om { $refresh }.
    }
marker-low = LAV { $cause ->
        [high_rtt] RTT { $rtt } ms
       *[other] { $kbps } kbps
    }
marker-offline = FRAKOBLET: { $cause ->
        [no_publisher] ingen sender
        [zero_bitrate] 0 kbps
        [unreachable] statistikk utilgjengelig
        [high_rtt] RTT { $rtt } ms
       *[other] { $cause }
    }
marker-restored = DIREKTE igjen
announce-low = Lav bitrate ({ $kbps } kbps): byttet til { $scene }.
announce-restored = Forbindelsen er tilbake ({ $kbps } kbps): tilbake til { $scene }.
announce-offline = Forbindelsen til strømmen er borte: byttet til { $scene }.
announce-auto-start = { $server } sender: strømmen starter.
announce-reconnecting = Strømmen mistet forbindelsen til ingest-serveren; OBS kobler til på nytt.
announce-reconnected = Strømmen er koblet til ingest-serveren igjen.
announce-congestion = Opplastingen er overbelastet ({ $percent } %): strømmen kan hakke.
announce-congestion-cleared = Opplastingen er ikke lenger overbelastet.
announce-dropped-frames = OBS mister bilder ({ $percent } %): strømmen kan hakke.
announce-dropped-frames-cleared = OBS mister ikke lenger bilder.
announce-disk-low = Opptaksdisken er nesten full: { $mb } MB ledig.
announce-disk-cleared = Opptaksdisken er ikke lenger nesten full.
announce-offline-timeout = Frakoblet for lenge: strømmen ble stoppet.
announce-task-failed = Botens oppgave { $task } feilet og starter på nytt.
announce-service = Tjenesten { $key }: { $from } → { $to }.
announce-pc-up = Strømme-PC-en svarer.
announce-pc-down = Strømme-PC-en svarer ikke lenger.
announce-eventsub-down = Boten mistet Twitch-hendelsene: chattekommandoer venter til de er tilbake.
announce-eventsub-back = Twitch-hendelsene er tilbake: chattekommandoer virker igjen.
announce-dry-run = [prøvekjøring] { $what }

# kick
kick-not-logged-in = Kick er ikke logget inn: kjør «stream-control kick login» på maskinen til boten.
kick-login-required = Kick avviste tokenet til boten: logg inn igjen med «stream-control kick login».
kick-missing-scope = Kick-tokenet mangler tillatelsen { $scope }: logg inn igjen med «stream-control kick login».
kick-rate-limited = Kick sier: for mange forespørsler. Prøv igjen om litt.
kick-bot-refused = Kick ville ikke poste som applikasjonens bot: slå på boten i innstillingene til Kick-applikasjonen, eller logg inn en bot-konto med «stream-control kick login --bot».
kick-refused = Kick avviste: { $reason }
kick-unreachable = Fikk ikke kontakt med Kick; prøv igjen om litt.

# programs run on this machine (nginx, systemctl, journalctl, ssh)
command-start-failed = Klarte ikke å kjøre { $program }: { $error }
command-timeout = { $program } ble ikke ferdig innen { $seconds } s og ble stoppet.
command-failed = { $program } feilet (avslutningskode { $code }): { $error }
command-needs-sudo = { $program } trenger sudo uten passord for botens bruker (se docs/setup.md, «sudo»): { $error }

# restream: target refusals
endpoint-name-empty = navnet er tomt
endpoint-name-too-long = navnet er lengre enn { $max } tegn
endpoint-name-characters = et navn kan bare inneholde bokstavene A–Z, sifre, mellomrom, _ og -
endpoint-name-taken = det finnes allerede et mål som heter «{ $name }»
endpoint-url-too-long = URL-en er lengre enn { $max } tegn
endpoint-url-characters = URL-en inneholder tegn som ikke er tillatt (mellomrom, anførselstegn, semikolon, #, dollartegn, krøllparenteser eller tegn utenfor ASCII)
endpoint-url-scheme = URL-en må begynne med rtmp:// eller rtmps://
endpoint-url-host = vertsnavnet i URL-en er verken et vertsnavn eller en IP-adresse
endpoint-url-port = porten i URL-en må være mellom 1 og 65535
endpoint-url-path = URL-en trenger en applikasjonssti (bokstaver, sifre, . _ ~ -), som rtmp://vert/app/<nøkkel>
endpoint-key-missing = URL-en mangler strømmenøkkel: lim inn hele URL-en, rtmp://vert/app/<nøkkel>
endpoint-key-too-long = strømmenøkkelen er lengre enn { $max } tegn
endpoint-key-characters = strømmenøkkelen inneholder tegn som ikke er tillatt
endpoint-platform = «{ $platform }» er ikke en plattform; bruk en av { $expected }
endpoint-rtmps-needs-stunnel = RTMPS krever seksjonen restream.stunnel i config.ron (nginx-rtmp kan ikke sende RTMPS selv)
endpoint-too-many = det finnes allerede { $max } mål
endpoint-malformed = oppføringen er ikke et mål

# restream
restream-list = Restrømmingsmål: { $endpoints }
restream-list-empty = Ingen restrømmingsmål ennå. Legg til et med { $command } (i Discord eller på konsollen: URL-en inneholder strømmenøkkelen).
restream-endpoint = { $name } ({ $platform }, { $state }): { $url }
restream-state-on = på
restream-state-off = av
restream-names = { $names }
restream-enabled = { $name } er slått på. Sender til: { $pushing }.{ $note }
restream-disabled = { $name } er slått av. Sender til: { $pushing }.{ $note }
restream-already-on = { $name } var allerede på. Sender til: { $pushing }.{ $note }
restream-already-off = { $name } var allerede av. Sender til: { $pushing }.{ $note }
restream-added = La til { $name }. Sender til: { $pushing }.{ $note }
restream-removed = Fjernet { $name }. Sender til: { $pushing }.{ $note }
restream-add-public = Ikke i åpen chat: URL-en inneholder strømmenøkkelen. Legg til mål i Discord (svaret er privat) eller på botens konsoll; har du nettopp lagt ut en nøkkel her, bør du tilbakestille den hos plattformen.
restream-unknown = Det finnes ikke noe restrømmingsmål «{ $name }». Mål: { $names }.
restream-refused = Avvist: { $reason }.
restream-note-none = {""}
restream-note-next-publish = {" "}En strøm som pågår, beholder de gamle målene til koderen kobler til på nytt.
restream-note-dropped = {" "}Koderen ble koblet fra så den nye listen gjelder med en gang; den kobler seg til igjen av seg selv.
restream-note-drop-failed = {" "}Klarte ikke å koble fra koderen ({ $error }): den nye listen gjelder når den kobler til på nytt.
restream-testing = Sjekker den nye mållisten med nginx -t …
restream-restarting-stunnel = nginx -t godtok den; starter stunnel på nytt for RTMPS-målene …
restream-dropping = nginx -t godtok den; kobler fra koderen så den nye listen gjelder med en gang …
restream-reloading = nginx -t godtok den; laster inn nginx på nytt …
restream-apply-failed = nginx avviste den nye mållisten, så ingenting er endret (den forrige listen er tilbake): { $error }
restream-write-failed = Klarte ikke å skrive mållisten til nginx, så ingenting er endret: { $error }
restream-stunnel-failed = stunnel startet ikke med de nye målene, så ingenting er endret (den forrige listen er tilbake): { $error }
restream-rollback-failed = nginx avviste den nye mållisten ({ $error }), og gjenopprettingen av den forrige feilet også ({ $rollback }): sjekk nginx nå!
restream-store-failed = Klarte ikke å lese eller skrive restrømmingsmålene ({ $path }): { $error }
restream-store-invalid = De lagrede restrømmingsmålene er ugyldige ({ $path }, oppføring { $index }: { $reason }): rett opp eller fjern filen.

# power: the stream PC
pc-on = Strømme-PC-en svarer ({ $host }).
pc-off = Strømme-PC-en svarer ikke ({ $host }: { $error }).
pc-wake-sent = Magisk pakke sendt til { $mac }; venter i opptil { $seconds } s på strømme-PC-en …
pc-wake-waiting = Venter på strømme-PC-en … { $seconds } s
pc-wake-up = Strømme-PC-en er oppe (den svarte etter { $seconds } s).
pc-wake-timeout = Magisk pakke sendt, men strømme-PC-en svarte ikke innen { $seconds } s. Er Wake-on-LAN slått på i BIOS og i innstillingene for nettverkskortet?
pc-wake-failed = Klarte ikke å sende den magiske pakken: { $error }
pc-streaming = OBS strømmer: { $command } ville avslutte strømmen. For å gjøre det likevel: { $forced }
pc-restarting = Strømme-PC-en starter på nytt.
pc-shutting-down = Strømme-PC-en slås av.
pc-ssh-unreachable = Fikk ikke kontakt med strømme-PC-en over ssh: { $error }
pc-command-failed = Strømme-PC-en avviste kommandoen (avslutningskode { $code }): { $error }

# services
service-unknown = Det finnes ingen tjeneste «{ $name }». Tjenester: { $names }.
service-status = { $units }
service-unit-state = { $key } ({ $unit }): { $state }
service-state-active = kjører
service-state-inactive = stoppet
service-state-failed = feilet
service-state-activating = starter
service-state-deactivating = stopper
service-state-reloading = laster inn på nytt
service-state-unknown = ukjent ({ $error })
service-state-other = { $state }
service-restarted = Startet på nytt: { $unit }.
service-repair-step = { $unit }
service-repair-step-failed = { $key }: { $error }
service-repair-done = Reparasjonen er ferdig: { $steps }
logs-lines = De siste { $count } linjene fra { $unit }:{ $lines }
logs-empty = { $unit } har ingen logglinjer.
