# Sends one document with elasticsearch-ruby (Debian's ruby-elasticsearch, the client
# Fluentd's Elasticsearch output uses): the client first checks, with GET /, that it talks to
# Elasticsearch (version, tagline, X-Elastic-Product), then posts a _bulk request.
# Usage: ruby es_bulk.rb <url> <message>; prints the bulk response as JSON.
require 'json'
require 'elasticsearch'

client = Elasticsearch::Client.new(url: ARGV[0])
response = client.bulk(body: [
  { index: { _index: 'ruby-app' } },
  { '@timestamp' => Time.now.utc.strftime('%Y-%m-%dT%H:%M:%S.%LZ'), 'message' => ARGV[1], 'level' => 'error' }
])
puts JSON.generate(response)
