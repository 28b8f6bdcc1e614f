// serve.js: s3rver on 127.0.0.1 for the integration tests (see s3_lib.sh)
//
//   node serve.js DIRECTORY [BUCKET...]
//
// Creates the BUCKETs, prints the chosen port as the first line on stdout,
// and serves until its standard input closes (the test went away).
'use strict';

const S3rver = require('s3rver');

async function main() {
  const [directory, ...buckets] = process.argv.slice(2);
  if (!directory) {
    process.stderr.write('usage: node serve.js DIRECTORY [BUCKET...]\n');
    process.exit(2);
  }
  const server = new S3rver({
    address: '127.0.0.1',
    port: Number(process.env.S3RVER_PORT || 0),
    silent: true,
    directory,
    configureBuckets: buckets.map(name => ({ name, configs: [] })),
  });
  const { port } = await server.run();
  process.stdout.write(`${port}\n`);
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}

main().catch(err => {
  process.stderr.write(`serve.js: ${err.stack || err}\n`);
  process.exit(1);
});
