#!/bin/bash
# Two devices started by hand; the processor is started in the background.
SAMPLER="fairmq-ex-sampler"
$SAMPLER --id sampler1 --transport shmem \
    --channel-config name=data,type=push,method=bind,address=tcp://*:7200,address=tcp://*:7201 \
                     'ctl:type=pub,method=bind,address=ipc:///tmp/topolint-ctl,numSockets=2' &

# the processor reads both sampler sockets
fairmq-ex-processor --id "processor1" --transport shmem \
    --channel-config "name=data,type=pull,method=connect,address=tcp://localhost:7200;tcp://localhost:7201" \
                     name=ctl,type=sub,method=connect,address=ipc:///tmp/topolint-ctl
