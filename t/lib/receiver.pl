#!/usr/bin/perl
# A webhook receiver for the tests: a small HTTP/1.1 server on
# 127.0.0.1:PORT that takes one request a connection, appends it to LOG
# as one JSON line
#
#   {"status":200,"path":"/hook","id":"7","ts":"1764600000",
#    "sig":"ab12...","type":"application/json","body":"{...}"}
#
# and answers with the status in LOG.status (a file holding a number)
# when it exists, else 200.  It runs until killed.
#
#   perl t/lib/receiver.pl PORT LOG

use strict;
use warnings;

use IO::Socket::INET ();
use JSON::PP ();

my ($port, $log) = @ARGV;

die "usage: receiver.pl PORT LOG\n" unless $port && $log;

my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $port, Listen => 128,
                                   ReuseAddr => 1, Proto => 'tcp')
    or die "receiver: cannot listen on $port: $!\n";

$| = 1;
print "ready\n";

my $json = JSON::PP->new->canonical;

while (my $c = $server->accept) {
    $c->autoflush(1);

    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 10;

    my $rec = eval {
        my $head = '';

        while ($head !~ /\r\n\r\n/) {
            my $n = sysread $c, $head, 4096, length $head;
            die "eof\n" unless $n;
            die "too long\n" if length $head > 65536;
        }

        my ($h, $body) = split /\r\n\r\n/, $head, 2;
        my ($line, @lines) = split /\r\n/, $h;
        my %hdr;

        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
            $hdr{lc $k} = $v;
        }

        my $len = $hdr{'content-length'} // 0;

        while (length $body < $len) {
            my $n = sysread $c, $body, $len - length $body, length $body;
            die "eof in body\n" unless $n;
        }

        my ($method, $path) = split / /, $line;

        { method => $method, path => $path, id => $hdr{'x-apisec-event-id'},
          ts => $hdr{'x-apisec-timestamp'}, sig => $hdr{'x-apisec-signature'},
          log => $hdr{'x-apisec-log-id'},
          type => $hdr{'content-type'}, ua => $hdr{'user-agent'},
          body => $body };
    };

    alarm 0;

    if (!$rec) {
        close $c;
        next;
    }

    my $status = 200;

    if (open my $fh, '<', "$log.status") {
        my $s = <$fh>;
        $status = $1 if defined $s && $s =~ /^(\d{3})/;
        close $fh;
    }

    $rec->{status} = $status;

    open my $out, '>>', $log or die "receiver: $log: $!\n";
    print $out $json->encode($rec), "\n";
    close $out;

    print $c "HTTP/1.1 $status X\r\nContent-Length: 0\r\n"
             . "Connection: close\r\n\r\n";
    close $c;
}
