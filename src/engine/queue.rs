//! Buffer queues: fixed slots cycling FREE, DEQUEUE, QUEUE, REQUEST between
//! a producer and a consumer (one process), with timed waits.
