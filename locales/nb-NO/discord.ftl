# Discord: metadata for skråstrekkommandoer (dc-<sti>; en kommando uten bruker cmd-<ord>) og
# det boten legger ut der (panel, statusmelding, varsler, chatspeil).

dc-stream = Start, stopp eller ta opp strømmen
dc-stream-start = Start strømmen (deretter startscenen, om den er satt opp)
dc-stream-stop = Stopp strømmen (avslutningsscene, bekreftet stopp, offline-scene)
dc-guard = Bitratevakten: status, på, av, terskler, prøvemodus
dc-guard-status = Vis bitratevakten
dc-guard-on = La vakten bytte scener
dc-guard-off = Hindre vakten i å bytte scener
dc-twitch = Twitch: tittel, kategori, raid, markører, klipp, reklame
dc-restream = Restream-mål
dc-restream-list = List restream-målene (nøkler skjult)
dc-restream-on = Slå på et restream-mål
dc-restream-off = Slå av et restream-mål
dc-restream-add = Legg til et restream-mål (bare du ser svaret)
dc-restream-remove = Fjern et restream-mål
dc-pc = Strømme-PC-ens strøm
dc-pc-status = Er strømme-PC-en oppe?
dc-pc-wake = Vekk strømme-PC-en (Wake-on-LAN) og vent på den
dc-pc-restart = Start strømme-PC-en på nytt
    .force = Også mens du strømmer
dc-pc-shutdown = Slå av strømme-PC-en
    .force = Også mens du strømmer
dc-service = Tjenester på botens maskin
dc-service-status = Vis tjenestenes tilstand
dc-service-restart = Start en tjeneste på nytt
dc-service-repair = Kjør reparasjonsrekkefølgen
dc-logs = Vis de siste linjene i en tjenestes logg
    .lines = Hvor mange linjer (10–1000)
    .follow = Fortsett å vise nye linjer en stund
dc-alert = Overlay-varsler
dc-alert-test = Send et testvarsel til overlayet
dc-panel = Legg ut et kontrollpanel med knapper i denne kanalen

# Navn på kommandoer, underkommandoer, valg og alternativer (discord-name-<ord>), ett per ord i treet.
# Discord godtar navn på 1–32 tegn, små bokstaver, uten mellomrom (bokstaver, sifre, - og _);
# et navn lik det engelske ordet sendes ikke. Boten mottar fortsatt det engelske ordet.
discord-name-action = handling
discord-name-ad = reklame
discord-name-add = legg-til
discord-name-alert = varsel
discord-name-ban-ip = blokker-ip
discord-name-bans = blokkeringer
discord-name-bitrate = bitrate
discord-name-brb = brb
discord-name-category = kategori
discord-name-channel = kanal
discord-name-clip = klipp
discord-name-command = kommando
discord-name-custom = egendefinert
discord-name-dryrun = prøvemodus
discord-name-fix = fiks
discord-name-follow = følg
discord-name-force = tving
discord-name-guard = vakt
discord-name-help = hjelp
discord-name-hide = skjul
discord-name-input = inngang
discord-name-ip = ip
discord-name-kind = type
discord-name-lines = linjer
discord-name-list = liste
discord-name-live = live
discord-name-logs = logger
discord-name-low = lav
discord-name-marker = markør
discord-name-mute = demp
discord-name-name = navn
discord-name-off = av
discord-name-offline = frakoblet
discord-name-on = på
discord-name-panel = panel
discord-name-pc = pc
discord-name-ping = ping
discord-name-query = søk
discord-name-raid = raid
discord-name-record = opptak
discord-name-refresh = oppdater
discord-name-remove = fjern
discord-name-repair = reparer
discord-name-restart = omstart
discord-name-restored = gjenopprettet
discord-name-restream = restream
discord-name-rtt = rtt
discord-name-rtt-offline = rtt-frakoblet
discord-name-reset = tilbakestill
discord-name-scene = scene
discord-name-seconds = sekunder
discord-name-service = tjeneste
discord-name-show = vis
discord-name-shutdown = slå-av
discord-name-snooze = utsett
discord-name-source = kilde
discord-name-start = start
discord-name-starting = starter
discord-name-state = tilstand
discord-name-status = status
discord-name-stop = stopp
discord-name-stream = strøm
discord-name-test = test
discord-name-text = tekst
discord-name-title = tittel
discord-name-trigger = terskel
discord-name-twitch = twitch
discord-name-unban-ip = opphev-ip
discord-name-unmute = opphev-demping
discord-name-url = url
discord-name-value = verdi
discord-name-version = versjon
discord-name-wake = vekk

discord-wrong-guild = Denne boten tar bare imot kommandoer i sin egen server.
discord-bad-interaction = Jeg kjenner ikke denne kommandoen eller valgene dens (Discord kan fortsatt vise en gammel versjon; prøv igjen om et minutt).
discord-panel-title = **Kontrollpanel** · scene: { $scene }
discord-panel-more-targets = { $count ->
        [one] Ett restream-mål til
       *[other] { $count } restream-mål til
    } enn panelet har plass til: { $command }
discord-panel-start = Start strømmen
discord-panel-stop = Stopp strømmen
discord-panel-fix = Reparer inngangen
discord-panel-guard-on = Vakt på
discord-panel-guard-off = Vakt av
discord-confirm = Vil du virkelig kjøre `{ $command }`?
discord-confirm-yes = Ja, gjør det
discord-confirm-force = Ja, selv mens du er live
discord-alert-low = ⚠️ Lav bitrate: { $bitrate ->
        [-1] ingen verdi
       *[other] { $bitrate } kbps
    } ({ $cause }, { $server }) → { $to }{ $dryrun ->
        [yes] {" "}(prøvemodus: ikke byttet)
       *[no] {""}
    }
discord-alert-restored = ✅ Bitraten er tilbake: { $bitrate ->
        [-1] ingen verdi
       *[other] { $bitrate } kbps
    } ({ $server }) → { $to }{ $dryrun ->
        [yes] {" "}(prøvemodus: ikke byttet)
       *[no] {""}
    }
discord-alert-offline = 🛑 Inngangen er borte ({ $cause }{ $rtt ->
        [-1] {""}
       *[other] , RTT { $rtt } ms
    }) → { $to }{ $dryrun ->
        [yes] {" "}(prøvemodus: ikke byttet)
       *[no] {""}
    }
discord-alert-raid = 🚀 Raid til { $channel }: { $outcome ->
        [stopped] strømmen er stoppet
        [disabled] raid-stopp er av
        [not_streaming] strømmet ikke
        [too_short] var live for kort til å stoppe
       *[failed] klarte ikke å stoppe strømmen
    }
discord-alert-obs-lost = 🔌 Mistet OBS: { $reason }
discord-alert-obs-back = 🔌 OBS er tilbake ({ $version })
discord-alert-auto-start = ▶️ Autostart: { $server } sender, strømmen startet
discord-alert-auto-start-failed = ▶️ Autostart: { $server } sender, men strømmen startet ikke: { $error }
discord-alert-offline-timeout = 🛑 Frakoblet for lenge: strømmen ble stoppet
discord-alert-offline-timeout-dry-run = 🛑 [prøvekjøring] Frakoblet for lenge: strømmen ville blitt stoppet
discord-alert-task-failed = 🧩 Botens oppgave { $task } feilet og startes på nytt: { $error }
discord-alert-service = ⚙️ Tjenesten { $key } ({ $unit }): { $from } → { $to }
discord-alert-pc-up = 🖥️ Strømme-PC-en svarer
discord-alert-pc-down = 🖥️ Strømme-PC-en svarer ikke lenger
discord-alert-reconnecting = 📶 OBS mistet ingest-serveren og kobler til på nytt
discord-alert-reconnected = 📶 OBS er koblet til ingest-serveren igjen
discord-alert-congestion = 📶 Opplastingen er overbelastet: { $percent } %
discord-alert-congestion-cleared = 📶 Opplastingen er ikke lenger overbelastet
discord-alert-dropped-frames = 🎞️ OBS mister bilder: { $percent } % (nettverk)
discord-alert-dropped-frames-cleared = 🎞️ OBS mister ikke lenger bilder
discord-alert-disk-low = 💾 Opptaksdisken er nesten full: { $mb } MB ledig
discord-alert-disk-cleared = 💾 Opptaksdisken er ikke lenger nesten full (eller opptaket stoppet)
discord-alert-upload-gone = { $problem ->
        [reconnecting] 📶 Ny tilkobling
        [congestion] 📶 Overbelastning
        [dropped_frames] 🎞️ Tapte bilder
       *[disk_low] 💾 Opptaksdisken nesten full
    }: over, fordi { $problem ->
        [disk_low] opptaket stoppet
       *[other] strømmen stoppet
    } (eller OBS forsvant)
discord-alert-eventsub-down = 📡 Twitch EventSub er nede (chattekommandoer, raids og live-status venter på den): { $reason }
discord-alert-eventsub-back = 📡 Twitch EventSub er tilbake
discord-audit-command = 🧾 { $who } kjørte { $command }: { $outcome }
discord-audit-switch = 🤖 { $by ->
        [ad_break] reklamepausen
       *[other] { $by }
    } byttet { $from } → { $to }
discord-audit-raid-stop = 🤖 stoppet strømmen etter raidet til { $channel }
discord-audit-auto-start = 🤖 autostart for { $server }: { $outcome }
discord-audit-offline-stop = 🤖 vakten stoppet strømmen: frakoblet for lenge
discord-live-post = 🔴 { $login } sender direkte: { $title } ({ $category }) https://twitch.tv/{ $login }
discord-live-ended = ⚫ { $login } sendte direkte i { $duration }: { $title }
discord-alert-token-failing = 🔑 Twitch-tokenet svikter: { $reason }
discord-alerts-suppressed = ({ $count } { $count ->
        [one] varsel til ble
       *[other] varsler til ble
    } ikke lagt ut: flomkontroll)
discord-mirror-dropped = ({ $count } { $count ->
        [one] chatlinje
       *[other] chatlinjer
    } hoppet over mens Discord var treg)
discord-embed-title = Strømmestatus
discord-embed-none = –
discord-embed-obs = Scene: **{ $scene }** · { $streaming ->
        [yes] strømmer i { $uptime }
       *[no] strømmer ikke
    }
discord-embed-upload = ⚠️ { $problem ->
        [reconnecting] OBS kobler til ingest-serveren på nytt
        [congestion] opplastingen er overbelastet
        [dropped_frames] OBS mister bilder
       *[disk_low] opptaksdisken er nesten full
    }
discord-embed-obs-down = Ikke tilkoblet: { $reason }
discord-obs-connecting = kobler til…
discord-obs-offline = { $reason }
discord-obs-wrong-password = OBS avviste passordet (OBS_PASSWORD)
discord-obs-too-old = { $version } er for gammel: OBS 28 eller nyere trengs
discord-embed-ingest-name = Inngang
discord-embed-ingest = **{ $bitrate } kbps** · RTT { $rtt } ms · { $server } · vakt: { $level }
discord-embed-ingest-none = Ingen bitrate:
    { $reason }
discord-embed-token-missing = ikke logget inn
discord-embed-token-failing = svikter
discord-embed-token-login = svikter: logg inn på nytt med `stream-control twitch login`
discord-embed-twitch = { $live ->
        [yes] **Live** · { $viewers } seere
        [no] Offline
       *[unknown] Ukjent om live
    }
    Tittel: { $title }
    Kategori: { $category }
    Tokenet gjelder i { $token } · EventSub: { $eventsub }
discord-embed-kick = Chat: { $chat ->
        [connected] tilkoblet
        [receiving] mottar
        [waiting] venter på Kicks første levering
        [connecting] kobler til
        [reconnecting] kobler til igjen
        [gave_up] ga opp (må startes på nytt)
        [stopped] stoppet
       *[other] leses ikke
    } · { $reader ->
        [pusher] chat-socket
        [webhook] webhook
       *[other] –
    }
discord-embed-chart = Siste 30 minutter · bitrate 0–{ $kbps } kbps (grønn) · RTT 0–{ $ms } ms (oransje) · stiplet: terskler for lav og tilbake · blå: scenebytter
discord-private-posted = Svaret står i { $channel }.
discord-logs-following = Følger { $service } i { $minutes } { $minutes ->
        [one] minutt
       *[other] minutter
    }:
discord-logs-follow-ended = Sluttet å følge { $service }.
discord-alert-restream-failed = 📡 Klarte ikke å ta i bruk restream-målene (de forrige er tilbake): { $error }
discord-embed-restream = Restream
discord-embed-restream-target = { $enabled ->
        [yes] 🟢
       *[no] ⚪
    } { $name } ({ $platform })
discord-embed-restream-apply-failed = Siste endring feilet: { $error }
discord-embed-pc = Strømme-PC
discord-embed-pc-state = { $state ->
        [up] 🟢 svarer
        [down] 🔴 svarer ikke
       *[unknown] ikke sjekket ennå
    }
discord-embed-services = Tjenester
discord-panel-wake = Vekk PC-en
discord-panel-restart = Start PC-en på nytt
discord-panel-shutdown = Slå av PC-en

# Gatewayen: hvorfor Discord avviste boten for godt (vist som grunn i Discord-statusen).
discord-gateway-token-refused = Discord avviste bot-tokenet (gateway-lukking 4004). Legg botens token (utviklerportalen → applikasjonen din → Bot → Reset Token) i DISCORD_TOKEN og start stream-control på nytt; den kobler ikke til igjen før det.
discord-gateway-intents-refused = Discord avviste botens gateway-intents (lukking 4014). Slå dem på i utviklerportalen (applikasjonen din → Bot → Privileged Gateway Intents) og start stream-control på nytt; den kobler ikke til igjen før det.
