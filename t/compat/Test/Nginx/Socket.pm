package Test::Nginx::Socket;

# Compatibility implementation of the subset of CPAN's Test::Nginx::Socket
# used by this project's test suite.  It is only put on @INC (prove -I
# t/compat) when the real module is not installed; see t/compat/README.md.
#
# Like the real module this class inherits from Test::Base, so the test
# files' __DATA__ blocks, section filters (eval, chomp, ...) and the
# ONLY/SKIP/LAST meta sections behave exactly as with the real module.

use v5.10.1;
use strict;
use warnings;

use Test::Base -base;

our $VERSION = '0.29_compat';

use Encode ();
use Time::HiRes qw( sleep time );
use Test::LongString;
use List::Util qw( min );
use IO::Select ();
use IO::Socket::INET ();
use POSIX qw( EAGAIN EWOULDBLOCK EINTR );
use HTTP::Response ();

use Test::Nginx::Util;

our @EXPORT = qw( env_to_nginx is_str plan run_tests run_test
  repeat_each config_preamble worker_connections
  master_process_enabled
  no_long_string workers master_on master_off
  log_level no_shuffle no_root_location use_hup
  server_name
  server_addr server_root html_dir server_port server_port_for_client
  timeout no_nginx_manager check_accum_error_log
  add_block_preprocessor bail_out add_cleanup_handler
  add_response_body_check
);

our $TotalConnectingTimeouts = 0;

sub send_request ($$$$@);
sub _value_contains ($$);
our @ResponseBodyChecks;

$RunTestHelper = \&run_test_helper;
$CheckErrorLog = \&check_error_log;

sub run_test ($) { Test::Nginx::Util::run_test($_[0]) }

sub set_http_config_filter ($) { $FilterHttpConfig = shift; }

sub add_response_body_check ($) { push @ResponseBodyChecks, shift; }

# ---------------------------------------------------------------------------
# building the raw requests
# ---------------------------------------------------------------------------

# "--- more_headers" text -> ("Key: val\r\n..." , is_chunked)
sub parse_more_headers ($) {
    my ($in) = @_;
    my $out = '';
    my $is_chunked;
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $key = '' if !defined $key;
        $val = '' if !defined $val;
        if (lc($key) eq 'transfer-encoding' && $val eq 'chunked') {
            $is_chunked = 1;
        }
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Turn a request spec ("METHOD [URI [VERSION]]\n[body]"), possibly given as
# several packets, into the raw request, keeping the packet boundaries.
#
# The request line is normalized to "METHOD URI VERSION\r\n" (URI defaults to
# "/", VERSION to HTTP/1.1), then "Host: localhost", "Connection: close" (or
# keep-alive for all but the last pipelined request), the more_headers and,
# when there is a body and neither chunked encoding nor an explicit
# Content-Length is given, "Content-Length: N" are added.  In that last case
# the body is stripped of leading and trailing whitespace (as the real
# module does).
sub build_request_from_packets ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn_header, $packets) = @_;

    my $whole = join '', @$packets;

    my ($first, $content) = $whole =~ /\A([^\n]*\n?)(.*)\z/s;
    if (!defined $first || $first eq '') {
        bail_out("$name - Request line should be non-empty");
    }

    my @m = $first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/;
    if (!@m) {
        bail_out("$name - Request line is not valid. Should be 'meth [url "
                 . "[version]]' but got \"$first\".");
    }

    my ($before_meth, $meth, $after_meth) = (length $m[0], $m[1], length $m[2]);
    my ($url, $url_size, $after_url) = defined $m[4]
        ? ($m[4], length $m[4], length $m[5])
        : ('/', 0, 0);
    my ($ver, $ver_size, $after_ver) = defined $m[7]
        ? ($m[7], length $m[7], length $m[8])
        : ('HTTP/1.1', 0, 0);
    my $end_line = length $m[9];

    my $content_size = length $content;

    my $len_header = '';
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;

    my $headers = '';
    if ($more_headers !~ /(?:^|\n)Host:/msi) {
        $headers .= "Host: $ServerName\r\n";
    }
    if ($more_headers !~ /(?:^|\n)Connection/msi) {
        $headers .= "Connection: $conn_header\r\n";
    }
    $headers .= "$more_headers$len_header\r\n";

    # (original length, replacement) pieces, in order
    my @segments = (
        [$before_meth,            ''],
        [length $meth,            "$meth "],
        [$after_meth,             ''],
        [$url_size,               "$url "],
        [$after_url,              ''],
        [$ver_size,               "$ver\r\n"],
        [$after_ver + $end_line,  ''],
        [0,                       $headers],
        [$content_size,           $content],
    );

    return _map_segments_to_packets(\@segments,
                                    [map { length } @$packets]);
}

# Distribute the rewritten pieces over the original packets: a piece that
# replaces original text lands where that text was (split at the original
# boundaries, the remainder going into the last packet it covers); inserted
# text goes into the packet holding the preceding character.
sub _map_segments_to_packets ($$) {
    my ($segments, $lens) = @_;

    my @ends;
    my $acc = 0;
    for my $l (@$lens) {
        $acc += $l;
        push @ends, $acc;
    }
    @ends = (0) if !@ends;

    my $pkt_of = sub {
        my $off = shift;
        for my $i (0 .. $#ends) {
            return $i if $off < $ends[$i];
        }
        return $#ends;
    };

    my @out = ('') x @ends;
    my $pos = 0;

    for my $seg (@$segments) {
        my ($olen, $text) = @$seg;

        if ($olen == 0) {
            my $idx = $pos == 0 ? 0 : $pkt_of->($pos - 1);
            $out[$idx] .= $text;
            next;
        }

        my $end = $pos + $olen;
        my $p = $pos;
        my $rest = $text;
        while (1) {
            my $i = $pkt_of->($p);
            if ($end <= $ends[$i] || $i == $#ends) {
                $out[$i] .= $rest;
                last;
            }
            my $n = $ends[$i] - $p;
            $out[$i] .= substr($rest, 0, $n);
            $rest = length($rest) > $n ? substr($rest, $n) : '';
            $p = $ends[$i];
        }

        $pos = $end;
    }

    return \@out;
}

sub _headers_for_idx ($$$) {
    my ($more_headers, $i, $what) = @_;
    if (ref $more_headers eq 'ARRAY') {
        my $hdr = $more_headers->[$i];
        if (!defined $hdr) {
            bail_out("--- more_headers lacks data for $what");
        }
        return parse_more_headers($hdr);
    }
    return parse_more_headers($more_headers);
}

# Returns a list of requests; each request is a list of packets
# ({ value => '...', delay_before => N }), each request on its own
# connection.
sub get_req_from_block ($) {
    my ($block) = @_;
    my $name = $block->name;

    my @req_list;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        if (ref $raw && ref $raw eq 'ARRAY') {
            push @req_list, [map { { value => $_ } } @$raw];
        } else {
            push @req_list, [{ value => $raw }];
        }
        return \@req_list;
    }

    my $request;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request "
                         . "eval instead.");
        $request = eval $block->request_eval;
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            # drop leading comment lines and whitespace
            1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
        }
    }

    my $more_headers = $block->more_headers || '';

    if ($block->pipelined_requests) {
        my $reqs = $block->pipelined_requests;
        if (!ref $reqs || ref $reqs ne 'ARRAY') {
            bail_out("$name - invalid entries in --- pipelined_requests");
        }

        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            my ($hdr, $is_chunked) = _headers_for_idx($more_headers, $i,
                                        "the $i pipelined request");
            my $pkts = build_request_from_packets($name, $hdr, $is_chunked,
                                                  $conn, [$reqs->[$i]]);
            $all .= $pkts->[0];
        }
        push @req_list, [{ value => $all }];
        return \@req_list;
    }

    if (!defined $request) {
        return \@req_list;
    }

    if (!ref $request) {
        my ($hdr, $is_chunked) = _headers_for_idx($more_headers, 0,
                                                  "the request");
        my $pkts = build_request_from_packets($name, $hdr, $is_chunked,
                                              'close', [$request]);
        push @req_list, [{ value => $pkts->[0] }];

    } elsif (ref $request eq 'ARRAY') {
        my $i = 0;
        for my $one_req (@$request) {
            my ($hdr, $is_chunked) = _headers_for_idx($more_headers, $i,
                                                      "the ${i}th request");

            if (!ref $one_req) {
                my $pkts = build_request_from_packets($name, $hdr,
                                      $is_chunked, 'close', [$one_req]);
                push @req_list, [{ value => $pkts->[0] }];

            } elsif (ref $one_req eq 'ARRAY') {
                my @values;
                for my $pkt (@$one_req) {
                    if (!ref $pkt) {
                        push @values, $pkt;
                    } elsif (ref $pkt eq 'HASH') {
                        push @values, $pkt->{value};
                    } else {
                        bail_out("$name - Invalid syntax. $pkt should be a "
                                 . "string or hash with value.");
                    }
                }

                my $pkts = build_request_from_packets($name, $hdr,
                                      $is_chunked, 'close', \@values);
                my @req;
                for my $idx (0 .. $#$pkts) {
                    my $orig = $one_req->[$idx];
                    if (ref $orig) {
                        push @req, { %$orig, value => $pkts->[$idx] };
                    } else {
                        push @req, { value => $pkts->[$idx] };
                    }
                }
                push @req_list, \@req;

            } else {
                bail_out("$name - Invalid syntax. $one_req should be a "
                         . "string or an array of packets.");
            }

            $i++;
        }

    } else {
        bail_out("$name - invalid ---request : MUST be string or array of "
                 . "requests");
    }

    return \@req_list;
}

# ---------------------------------------------------------------------------
# talking to nginx
# ---------------------------------------------------------------------------

sub send_request ($$$$@) {
    my ($req, $middle_delay, $timeout, $block, $tries) = @_;

    # nginx may close the connection before the whole request is written
    local $SIG{PIPE} = 'IGNORE';

    my $name = $block->name;
    my @bits = @$req;

    my $head_req = (join '', map { $_->{value} } @bits) =~ /^\s*HEAD\s+/
                   ? 1 : 0;

    my $server_addr = $block->server_addr_for_client // $ServerAddr;

    my $sock = IO::Socket::INET->new(
        PeerAddr => $server_addr,
        PeerPort => $ServerPortForClient,
        Proto    => 'tcp',
        Timeout  => $timeout,
    );

    if (!defined $sock) {
        my $err = $!;
        $tries ||= 1;
        my $total_tries = $TotalConnectingTimeouts ? 20 : 50;
        if ($tries <= $total_tries) {
            my $wait = (sleep_time() + sleep_time() * $tries) * $tries / 2;
            $wait = 1 if $wait >= 1;

            if ($wait >= 0.6) {
                warn "$name - Can't connect to $server_addr:"
                     . "$ServerPortForClient: $err\n";
                if ($tries + 1 <= $total_tries) {
                    warn "\tRetry connecting after $wait sec\n";
                }
            }

            sleep $wait;
            return send_request($req, $middle_delay, $timeout, $block,
                                $tries + 1);
        }

        my $msg = "$name - Can't connect to $server_addr:"
                  . "$ServerPortForClient: $err (aborted)\n";
        if (++$TotalConnectingTimeouts < 3) {
            Test::More->builder->no_ending(1);
            Test::More::fail($msg);
        } else {
            bail_out($msg);
        }
        return;
    }

    $sock->blocking(0);

    my $resp = '';
    my $cur = shift @bits;
    my $wbuf = $cur->{value};
    my $woff = 0;
    my $writing = 1;
    my $reading = 1;

    while ($reading || $writing) {
        my $rsel = IO::Select->new;
        my $wsel = IO::Select->new;
        $rsel->add($sock) if $reading;
        $wsel->add($sock) if $writing;

        my ($r, $w) = IO::Select->select($rsel, $wsel, undef, $timeout);

        if (!$r && !$w) {
            next if $! == EINTR;
            # timed out
            if (!defined $block->abort) {
                Test::More->builder->no_ending(1);
                Test::More::fail("ERROR: client socket timed out - $name\n");
            } else {
                sleep 0.005;
            }
            last;
        }

        if ($r && @$r) {
            while (1) {
                my $buf;
                my $n = sysread($sock, $buf, 4096);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                    warn "WARNING: $name - HTTP response read failure: $!\n";
                    $reading = $writing = 0;
                    last;
                }
                if ($n == 0) {      # connection closed
                    $reading = $writing = 0;
                    last;
                }
                $resp .= $buf;
            }
        }

        if ($writing && $w && @$w) {
            while (1) {
                my $rest = length($wbuf) - $woff;
                if ($rest > 0) {
                    my $n = syswrite($sock, $wbuf, $rest, $woff);
                    if (!defined $n) {
                        last if $! == EAGAIN || $! == EWOULDBLOCK
                                || $! == EINTR;
                        my $errmsg = "write failed: $!";
                        warn "$errmsg\n";
                        $resp = $errmsg if $resp eq '';
                        $reading = $writing = 0;
                        last;
                    }
                    $woff += $n;
                    next;
                }

                my $next = shift @bits;
                if (!defined $next) {
                    $writing = 0;
                    my $shutdown = $block->shutdown;
                    if (defined $shutdown) {
                        $shutdown = 1 if $shutdown =~ /^$/s;
                        shutdown($sock, $shutdown);
                    }
                    last;
                }

                $wbuf = $next->{value};
                $woff = 0;
                my $wait = defined $next->{delay_before}
                           ? $next->{delay_before} : $middle_delay;
                sleep $wait if $wait;
            }
        }
    }

    close $sock;

    return ($resp, $head_req);
}

sub parse_response ($$$) {
    my ($name, $raw_resp, $head_req) = @_;

    my $left;
    my $raw_headers = '';
    if ($raw_resp =~ /(.*?\r\n)\r\n/s) {
        $raw_headers = $1;
    }

    my $res = HTTP::Response->parse($raw_resp);

    my $code = $res->code;
    if ($code && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }

    if ($code && ($code == 304 || $code == 101)) {
        return ($res, $raw_headers);
    }

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');

    if (defined $enc && $enc eq 'chunked') {
        my $raw = $res->content // '';
        my $decoded = '';
        my $pos = 0;

        while (1) {
            pos($raw) = $pos;

            if ($raw =~ /\G0[ \t]*\r\n\r\n/gc) {
                $pos = pos($raw);
                $left = substr($raw, $pos) if $pos < length $raw;
                last;
            }

            pos($raw) = $pos;
            if ($raw =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
                my $size = hex($1);
                $pos = pos($raw);

                if (length($raw) - $pos < $size) {
                    Test::More->builder->no_ending(1);
                    Test::More::fail("$name - invalid chunked data received "
                        . "(not enought octets for the data section)");
                    return;
                }

                $decoded .= substr($raw, $pos, $size);
                $pos += $size;

                if (substr($raw, $pos, 2) ne "\r\n") {
                    Test::More->builder->no_ending(1);
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(expected CRLF).");
                    return;
                }
                $pos += 2;
                next;
            }

            Test::More->builder->no_ending(1);
            if ($pos < length $raw) {
                Test::More::fail("$name - invalid chunked body received: "
                                 . substr($raw, $pos));
            } else {
                Test::More::fail("$name - no last chunk found - $raw");
            }
            return;
        }

        $res->content($decoded);

    } elsif (defined $len && $len ne '' && $len =~ /^\d+$/) {
        my $raw = $res->content // '';
        if (length $raw < $len) {
            if (!$head_req) {
                warn "WARNING: $name - response body truncated: $len "
                     . "expected, but got ", length $raw, "\n";
            }
        } elsif (length $raw > $len) {
            $left = substr $raw, $len;
            $res->content(substr $raw, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

# ---------------------------------------------------------------------------
# the per-block test driver
# ---------------------------------------------------------------------------

sub run_test_helper ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;

    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    if (!@$reqs) {
        bail_out("$name - request empty");
    }

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() if !defined $timeout;

    my $res;
    my $req_idx = 0;
    my ($n, $need_array);

    for my $one_req (@$reqs) {
        my ($raw_resp, $head_req) = send_request($one_req,
                                        $block->raw_request_middle_delay,
                                        $timeout, $block);

        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$reqs > 1;
        }

        while (1) {
            $raw_resp = '' if !defined $raw_resp;

            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                ($res, $raw_headers, $left) = parse_response($name,
                                                  $raw_resp, $head_req);
            }

            if (!$n) {
                if (defined $left && $left ne '') {
                    (my $l = $left) =~ s/([\0-\037\200-\377])/
                                         sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after "
                         . "last chunk in response: \"$l\"\n";
                }
            } else {
                $raw_resp = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $req_idx,
                                           $need_array);
                check_response_headers($block, $res, $raw_headers,
                                       $req_idx, $need_array);
                check_response_body($block, $res, $dry_run, $req_idx,
                                    $repeated_req_idx, $need_array);
            }

            # error/access logs are also checked between the requests of a
            # multi-request or pipelined block
            if ($n || $req_idx < @$reqs - 1) {
                sleep($block->wait) if $block->wait;
                check_error_log($block, $res, $dry_run, $repeated_req_idx,
                                $need_array);
                if (!defined $block->ignore_response) {
                    check_access_log($block, $dry_run, $repeated_req_idx);
                }
            }

            $req_idx++;

            last if !$n;
        }
    }

    sleep($block->wait) if $block->wait;

    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);

    if (!defined $block->ignore_response) {
        check_access_log($block, $dry_run, $repeated_req_idx);
    }
}

sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;

    if ($need_array) {
        if (ref $value && ref $value eq 'ARRAY') {
            return $value->[$req_idx];
        }
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }

    if (ref $value && ref $value eq 'ARRAY') {
        if ($req_idx != 0) {
            bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need "
                     . "array.");
        }
        return $value->[0];
    }

    return $value;
}

sub check_error_code ($$$$) {
    my ($block, $res, $req_idx, $need_array) = @_;
    my $name = $block->name;

    my $got = ($res && $res->code) || '';

    if (defined $block->error_code_like) {
        my $val = get_indexed_value($name, $block->error_code_like, $req_idx,
                                    $need_array);
        like($got, qr/$val/sm, "$name - status code ok");

    } elsif (defined $block->error_code) {
        is($got, get_indexed_value($name, $block->error_code, $req_idx,
                                   $need_array),
           "$name - status code ok");

    } else {
        is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;

    $raw_headers = '' if !defined $raw_headers;

    if (defined $block->raw_response_headers_like) {
        my $expected = get_indexed_value($name,
                           $block->raw_response_headers_like, $req_idx,
                           $need_array);
        like($raw_headers, qr/$expected/s, "$name - raw resp headers like");
    }

    if (defined $block->raw_response_headers_unlike) {
        my $expected = get_indexed_value($name,
                           $block->raw_response_headers_unlike, $req_idx,
                           $need_array);
        unlike($raw_headers, qr/$expected/s,
               "$name - raw resp headers unlike");
    }
}

sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;

    $raw_headers = '' if !defined $raw_headers;

    if (defined $block->response_headers) {
        my $headers = parse_headers(get_indexed_value($name,
                          $block->response_headers, $req_idx, $need_array));

        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};

            if (!defined $val) {
                unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                       "$name - header $key not present in the raw headers");
                next;
            }

            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

            my $actual = $res ? $res->header($key) : undef;
            $actual = '' if !defined $actual;

            is($actual, $val, "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(get_indexed_value($name,
                          $block->response_headers_like, $req_idx,
                          $need_array));

        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};
            $val = '' if !defined $val;
            my $actual = $res ? $res->header($key) : undef;
            $actual = '' if !defined $actual;
            like($actual, qr/^$val$/, "$name - header $key like ok");
        }
    }
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;

    my $content = $res ? $res->content : undef;
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
        $content =~ s/^Connection: TE, close\r\n//gms;
    }

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. Use "
                             . "response_body eval instead.");
            $expected = eval get_indexed_value($name,
                            $block->response_body_eval, $req_idx,
                            $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body,
                                          $req_idx, $need_array);
        }

        if ($block->charset) {
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }

        my $desc = "$name - response_body - response is expected "
                   . "(repeated req $repeated_req_idx, req $req_idx)";

        if (ref $expected) {
            like($content, $expected, "$name - response_body - like "
                 . "(repeated req $repeated_req_idx, req $req_idx)");
        } elsif ($NoLongString) {
            is($content, $expected, $desc);
        } else {
            is_string($content, $expected, $desc);
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my ($patterns, $type);
        if (defined $block->response_body_like) {
            ($patterns, $type) = ($block->response_body_like, 'like');
        } else {
            ($patterns, $type) = ($block->response_body_unlike, 'unlike');
        }

        my $pat = get_indexed_value($name, $patterns, $req_idx, $need_array);
        $pat = '' if !defined $pat;
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

        my $summary = trim($content);
        $summary = '' if !defined $summary;

        my $desc = "$name - response_body_$type - response is expected "
                   . "($summary)";
        if ($type eq 'like') {
            like($content, qr/$pat/s, $desc);
        } else {
            unlike($content, qr/$pat/s, $desc);
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $req_idx,
                 $repeated_req_idx, $dry_run);
    }
}

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub _value_contains ($$) {
    my ($val, $pat) = @_;
    return undef if !defined $val;
    if (!ref $val || ref $val eq 'Regexp') {
        return $val =~ /\Q$pat\E/;
    }
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if _value_contains($v, $pat);
        }
    }
    return undef;
}

# section value -> list of patterns (strings are one pattern per line)
sub _patterns ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub _line_matches ($$) {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

# "--- error_log" / "--- access_log": every pattern must match some line
sub _check_log_has ($$$$$) {
    my ($name, $pats, $lines, $what, $repeated_req_idx) = @_;

    $pats = _patterns($pats);
    my @missing;

    for my $line (@{ $lines || [] }) {
        for my $pat (@$pats) {
            next if !defined $pat;
            if (_line_matches($line, $pat)) {
                pass("$name - pattern \"$pat\" matches a line in $what "
                     . "(req $repeated_req_idx)");
                undef $pat;
            }
        }
    }

    for my $pat (@$pats) {
        next if !defined $pat;
        fail("$name - pattern \"$pat\" should match a line in $what "
             . "(req $repeated_req_idx)");
        push @missing, $pat;
    }

    if (@missing) {
        my @l = @{ $lines || [] };
        @l = @l[-20 .. -1] if @l > 20;
        diag("$what lines checked" . (@l ? " (last " . scalar(@l) . ")" : '')
             . ":\n" . (@l ? join('', @l) : "(none)\n"));
    }
}

# "--- no_error_log" / "--- no_access_log": no pattern may match any line
sub _check_log_lacks ($$$$$) {
    my ($name, $pats, $lines, $what, $repeated_req_idx) = @_;

    $pats = _patterns($pats);
    $lines ||= [];

    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (@$pats) {
            next if !defined $pat;
            next if !_line_matches($line, $pat);

            if ($found{$pat}) {
                Test::More->builder->no_ending(1);
            } else {
                $found{$pat} = 1;
            }

            my $ln = fmt_str($line);
            my $p = fmt_str($pat);
            my @more;
            for (my $j = $i + 1; $j < min($i + 10, @$lines - 1); $j++) {
                push @more, $lines->[$j];
            }
            fail("$name - pattern \"$p\" should not match any line in $what "
                 . "but matches line \"$ln\" (req $repeated_req_idx)\n"
                 . join '', @more);
        }
    }

    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        my $p = fmt_str($pat);
        pass("$name - pattern \"$p\" does not match a line in $what "
             . "(req $repeated_req_idx)");
    }
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $lines;

    if (defined $block->access_log) {
        $lines ||= access_log_data();
        _check_log_has($name, $block->access_log, $lines, 'access.log',
                       $repeated_req_idx);
    }

    if (defined $block->no_access_log) {
        $lines ||= access_log_data();
        _check_log_lacks($name, $block->no_access_log, $lines, 'access.log',
                         $repeated_req_idx);
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;

    my %warn_for = ('[alert]' => 1, '[crit]' => 1, '[emerg]' => 1);

    my $grep_pat;
    my $grep_pats = $block->grep_error_log;
    if (defined $grep_pats) {
        $grep_pat = (ref $grep_pats && ref $grep_pats eq 'ARRAY')
                    ? $grep_pats->[$repeated_req_idx] : $grep_pats;
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        if (!defined $expected) {
            bail_out("$name - No --- grep_error_log_out defined but "
                     . "--- grep_error_log is defined");
        }
        if (ref $expected && ref $expected eq 'ARRAY') {
            $expected = $expected->[$repeated_req_idx];
        }

        $lines ||= error_log_data();

        my $matched_lines = '';
        for my $line (@{ $lines || [] }) {
            if ((ref $grep_pat && $line =~ /$grep_pat/)
                || $line =~ /\Q$grep_pat\E/)
            {
                my $matched = $&;
                $matched_lines .= "$matched\n" if $matched !~ /\n/;
            }
        }

        my $desc = "$name - grep_error_log_out (req $repeated_req_idx)";
        if (ref $expected eq 'Regexp') {
            like($matched_lines, $expected, $desc);
        } elsif ($NoLongString) {
            is($matched_lines, $expected, $desc);
        } else {
            is_string($matched_lines, $expected, $desc);
        }
    }

    for my $sec (qw( error_log no_error_log )) {
        my $pats = $block->$sec;
        next if !defined $pats;
        for my $lvl (keys %warn_for) {
            (my $p = $lvl) =~ s/\]$//;
            delete $warn_for{$lvl} if _value_contains($pats, $p);
        }
    }

    if (defined $block->error_log) {
        $lines ||= error_log_data();
        _check_log_has($name, $block->error_log, $lines, 'error.log',
                       $repeated_req_idx);
    }

    if (defined $block->no_error_log) {
        $lines ||= error_log_data();
        _check_log_lacks($name, $block->no_error_log, $lines, 'error.log',
                         $repeated_req_idx);
    }

    if (%warn_for && !$dry_run) {
        $lines ||= error_log_data();
        for my $line (@{ $lines || [] }) {
            for my $lvl (sort keys %warn_for) {
                if (index($line, $lvl) >= 0) {
                    warn "WARNING: $name - " . fmt_str($line) . "\n";
                }
            }
        }
    }

    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            Test::More->builder->no_ending(1);
            (my $l = $line) =~ s/\n\z//;
            fail("$name - $l\n");
        }
    }
}

1;
__END__

=head1 NAME

Test::Nginx::Socket - compat subset of CPAN's Test::Nginx::Socket

=head1 DESCRIPTION

See F<t/compat/README.md>.

=cut
