#!/usr/bin/env node
// Committed entry so npm links `tessera` at install time; the code is built into dist/.
import '../dist/bin.js';
