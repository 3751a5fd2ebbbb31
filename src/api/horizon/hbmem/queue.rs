//! hbmem buffer queues over the engine queue.
#![allow(clippy::missing_safety_doc)]
