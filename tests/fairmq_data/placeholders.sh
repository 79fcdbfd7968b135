fairmq-ex-sampler --id sampler --channel-config name=data,type=push,method=bind,address=tcp://*:@DATA_PORT@
fairmq-ex-sink --id sink --channel-config name=data,type=pull,method=connect,address=tcp://localhost:$SINK_PORT
