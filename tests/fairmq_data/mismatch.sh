# a zeromq sender and a shmem receiver on one channel
fairmq-ex-sampler --id sampler --channel-config name=data,type=push,method=bind,address=tcp://*:7300
fairmq-ex-sink --id sink --transport shmem --channel-config name=data,type=pull,method=connect,address=tcp://localhost:7300
