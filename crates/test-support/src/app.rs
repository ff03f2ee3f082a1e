//! A shinrai server on 127.0.0.1:0 for tests (filled in with the server).
