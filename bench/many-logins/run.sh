#!/bin/bash
# usage: bench/many-logins/run.sh [<clone dir>] [<label>]: a fresh Azurite and one silo of that clone's Release build
# (dotnet build -c Release src/ProfileGrid.Silo first); 120 visitors' histories, then one request of their 120 logins,
# timed, and the same request again. Ports 29680-29693; data in a temporary folder.
set -u
D=${1:-$(cd "$(dirname "$0")/../.." && pwd)}; L=${2:-run}; W=$(mktemp -d)
H=$(cd "$(dirname "$0")" && pwd)
(cd $W && python3 $H/gen.py 120)
rm -rf $W/az-$L; mkdir -p $W/az-$L
CS="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:29680/devstoreaccount1;QueueEndpoint=http://127.0.0.1:29681/devstoreaccount1;TableEndpoint=http://127.0.0.1:29682/devstoreaccount1;"
$D/node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck --loose --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 --blobPort 29680 --queuePort 29681 --tablePort 29682 --location $W/az-$L > $W/azurite-$L.log 2>&1 &
AZ=$!
rm -f $W/admin.key
(cd $D/src/ProfileGrid.Silo/bin/Release/net10.0 && exec dotnet ProfileGrid.Silo.dll "--ProfileGrid:StorageConnectionString=$CS" --ProfileGrid:Endpoints:GrpcPort=29690 --ProfileGrid:Endpoints:HttpPort=29691 --ProfileGrid:Endpoints:SiloPort=29692 --ProfileGrid:Endpoints:GatewayPort=29693 --ProfileGrid:Auth:BootstrapKeyFile=$W/admin.key > $W/silo-$L.log 2>&1) &
SILO=$!
for i in $(seq 1 90); do curl -s -o /dev/null http://127.0.0.1:29691/ && break; sleep 1; done
python3 $H/send.py $L $W
kill -TERM $SILO; sleep 5; kill -TERM $AZ; wait
rm -rf $W
