package directory

// DemoOrg is an example organisation for `salama serve --demo`, with its
// services. Every name says "(demo)", every phone number is 0700 000 0xx,
// and every web address is under example.org, so nobody mistakes the example
// network for a real one.
type DemoOrg struct {
	Slug            string
	Name            string
	Intake          bool // receives every report no rule claims
	ChildProtection bool // receives children's reports
	// DirectoryOnly marks a service provider that does not run Salama (a
	// hospital, a police gender desk, a government office): it is in the
	// directory, and a referral to it is a recorded hand-off.
	DirectoryOnly bool
	Services      []Service
}

// DemoNetwork returns three example organisations: the intake, a
// child-protection centre and a legal and shelter trust, with services in
// Nairobi, Mombasa, Kisumu, Nakuru and Kiambu that together meet every need.
// Three more providers are in the directory without running Salama: a
// county children's office, a hospital's GBV recovery centre and a police
// gender desk, to which referrals are recorded hand-offs.
// Service IDs are stable, so a demo database can be rebuilt over itself.
func DemoNetwork() []DemoOrg {
	const (
		intake = "example-intake"
		child  = "example-child-protection"
		trust  = "example-legal-shelter"
	)
	weekdays := Text{
		EN: "Monday to Friday, 8 am to 5 pm",
		SW: "Jumatatu hadi Ijumaa, saa mbili asubuhi hadi saa kumi na moja jioni",
	}
	always := Text{EN: "Day and night, every day", SW: "Mchana na usiku, kila siku"}
	enSw := []string{"en", "sw"}
	return []DemoOrg{
		{
			Slug: intake, Name: "Example Intake Network (demo)", Intake: true,
			Services: []Service{
				{
					ID: "demo-intake-helpline", OrgID: intake, Name: "Example Helpline (demo)",
					Description: Text{
						EN: "Talk to a trained counsellor by phone, SMS or WhatsApp. We listen, and help you find services near you.",
						SW: "Ongea na mshauri aliyefunzwa kwa simu, SMS au WhatsApp. Tunakusikiliza na kukusaidia kupata huduma karibu nawe.",
					},
					Type: TypeHelpline, National: true, Ages: AgesAll, Languages: enSw,
					Hours: always, Channels: Channels{Phone: "0700 000 001", SMS: "0700 000 001", WhatsApp: "0700 000 001"},
					Free: true,
				},
				{
					ID: "demo-intake-counselling", OrgID: intake, Name: "Example Counselling Rooms (demo)",
					Description: Text{
						EN: "Free counselling, one to one or in a group, for anyone hurt by sexual abuse online or offline.",
						SW: "Ushauri nasaha wa bure, mmoja mmoja au kwa kikundi, kwa yeyote aliyeumizwa na unyanyasaji wa kingono mtandaoni au nje ya mtandao.",
					},
					Type: TypeCounselling, Counties: []string{"nairobi", "kiambu", "mombasa"}, Ages: AgesAll,
					Languages: []string{"en", "sw", "ki"}, Hours: weekdays,
					Channels: Channels{Phone: "0700 000 002", WalkIn: Text{
						EN: "Example House, Example Road, Nairobi (demo)",
						SW: "Example House, Barabara ya Example, Nairobi (demo)",
					}},
					Free: true,
				},
				{
					ID: "demo-intake-medical", OrgID: intake, Name: "Example Recovery Clinic (demo)",
					Description: Text{
						EN: "Care after rape or sexual assault for adults: PEP to stop HIV, the emergency pill, tests and treatment.",
						SW: "Huduma baada ya ubakaji au unyanyasaji wa kingono kwa watu wazima: PEP ya kuzuia HIV, kidonge cha dharura, vipimo na matibabu.",
					},
					Type: TypeMedicalPEP, Counties: []string{"nairobi", "kisumu", "nakuru", "mombasa"}, Ages: AgesAdults,
					Genders: []Gender{GenderFemale, GenderMale, GenderDiverse}, Languages: enSw,
					Hours: always, Channels: Channels{Phone: "0700 000 003"}, Free: true,
				},
				{
					ID: "demo-intake-takedown", OrgID: intake, Name: "Example Takedown Desk (demo)",
					Description: Text{
						EN: "We ask the apps to remove adverts, fake profiles and images of you. Send us the link, not the image.",
						SW: "Tunaomba programu ziondoe matangazo, akaunti bandia na picha zako. Tutumie kiungo (link), si picha.",
					},
					Type: TypeOnlineTakedown, National: true, Ages: AgesAll, Languages: enSw,
					Hours: weekdays, Channels: Channels{WhatsApp: "0700 000 004", Website: "takedown.example.org"},
					Free: true,
				},
				{
					ID: "demo-intake-repatriation", OrgID: intake, Name: "Example Safe Return Programme (demo)",
					Description: Text{
						EN: "Help to come home safely if you were taken abroad, and support to settle back in once you are home.",
						SW: "Msaada wa kurudi nyumbani salama kama ulipelekwa nje ya nchi, na msaada wa kuanza maisha upya ukifika nyumbani.",
					},
					Type: TypeRepatriation, National: true, Ages: AgesAll,
					Languages: []string{"en", "sw", "ar"}, Hours: weekdays,
					Channels: Channels{Phone: "+254 700 000 005", WhatsApp: "+254 700 000 005"}, Free: true,
				},
			},
		},
		{
			Slug: child, Name: "Example Child Protection Centre (demo)", ChildProtection: true,
			Services: []Service{
				{
					ID: "demo-child-protection-nairobi", OrgID: child, Name: "Example Child Protection Centre, Nairobi (demo)",
					Description: Text{
						EN: "For children under 18 and the adults who care for them. We keep the child safe and arrange medical care, counselling and legal help.",
						SW: "Kwa watoto chini ya miaka 18 na watu wazima wanaowalea. Tunamlinda mtoto na kupanga matibabu, ushauri nasaha na msaada wa kisheria.",
					},
					Type: TypeChildProtection, Counties: []string{"nairobi", "kiambu"}, Ages: AgesChildren,
					Languages: []string{"en", "sw", "ki"}, Hours: always,
					Channels: Channels{Phone: "0700 000 011", WalkIn: Text{
						EN: "Example Centre, Example Lane, Nairobi (demo)",
						SW: "Example Centre, Njia ya Example, Nairobi (demo)",
					}},
					Free: true, ChildProtection: true,
				},
				{
					ID: "demo-child-protection-kisumu", OrgID: child, Name: "Example Child Protection Centre, Kisumu (demo)",
					Description: Text{
						EN: "For children under 18 and the adults who care for them, in Kisumu.",
						SW: "Kwa watoto chini ya miaka 18 na watu wazima wanaowalea, Kisumu.",
					},
					Type: TypeChildProtection, Counties: []string{"kisumu"}, Ages: AgesChildren,
					Languages: []string{"en", "sw", "luo"}, Hours: weekdays,
					Channels: Channels{Phone: "0700 000 012"}, Free: true, ChildProtection: true,
				},
				{
					ID: "demo-child-medical", OrgID: child, Name: "Example Children's Clinic (demo)",
					Description: Text{
						EN: "Medical care for children after sexual abuse, with a nurse trained to work with children.",
						SW: "Matibabu kwa watoto baada ya unyanyasaji wa kingono, na muuguzi aliyefunzwa kuwahudumia watoto.",
					},
					Type: TypeMedicalPEP, Counties: []string{"nairobi", "mombasa"}, Ages: AgesChildren, Languages: enSw,
					Hours: always, Channels: Channels{Phone: "0700 000 013"}, Free: true,
				},
				{
					ID: "demo-child-shelter", OrgID: child, Name: "Example Children's Safe House (demo)",
					Description: Text{
						EN: "A safe place to stay for girls and boys under 18 who cannot go home.",
						SW: "Mahali salama pa kukaa kwa wasichana na wavulana chini ya miaka 18 wasioweza kurudi nyumbani.",
					},
					Type: TypeShelter, Counties: []string{"nakuru", "nairobi"}, Ages: AgesChildren, Languages: enSw,
					Hours: always, Channels: Channels{Phone: "0700 000 014"}, Free: true,
				},
				{
					ID: "demo-child-counselling", OrgID: child, Name: "Example Young People's Counselling (demo)",
					Description: Text{
						EN: "Counselling for children and teenagers, and for their parents.",
						SW: "Ushauri nasaha kwa watoto na vijana, na kwa wazazi wao.",
					},
					Type: TypeCounselling, Counties: []string{"mombasa", "kisumu"}, Ages: AgesChildren, Languages: enSw,
					Hours: weekdays, Channels: Channels{Phone: "0700 000 015", SMS: "0700 000 015"}, Free: true,
				},
			},
		},
		{
			Slug: trust, Name: "Example Legal & Shelter Trust (demo)",
			Services: []Service{
				{
					ID: "demo-trust-legal-aid", OrgID: trust, Name: "Example Legal Aid Clinic (demo)",
					Description: Text{
						EN: "Free advice from a lawyer. We can go with you to the police and to court.",
						SW: "Ushauri wa bure kutoka kwa wakili. Tunaweza kwenda nawe polisi na mahakamani.",
					},
					Type: TypeLegalAid, Counties: []string{"nairobi", "mombasa", "kisumu", "nakuru"}, Ages: AgesAll,
					Languages: enSw, Hours: weekdays, Channels: Channels{Phone: "0700 000 021", Website: "legal.example.org"},
					Free: true,
				},
				{
					ID: "demo-trust-police-desk", OrgID: trust, Name: "Example Police Desk Companions (demo)",
					Description: Text{
						EN: "A trained companion goes with you to the police gender desk and helps you make a statement.",
						SW: "Msindikizaji aliyefunzwa anaenda nawe kwenye dawati la jinsia la polisi na kukusaidia kutoa maelezo yako.",
					},
					Type: TypePoliceDesk, Counties: []string{"nairobi", "kiambu", "nakuru"}, Ages: AgesAll,
					Languages: []string{"en", "sw", "ki", "kln"}, Hours: weekdays,
					Channels: Channels{Phone: "0700 000 022"}, Free: true,
				},
				{
					ID: "demo-trust-shelter-women", OrgID: trust, Name: "Example Women's Safe House (demo)",
					Description: Text{
						EN: "A safe place to stay for women, with their young children, for up to three months.",
						SW: "Mahali salama pa kukaa kwa wanawake, pamoja na watoto wao wadogo, hadi miezi mitatu.",
					},
					Type: TypeShelter, Counties: []string{"nairobi", "mombasa"}, Ages: AgesAdults,
					Genders: []Gender{GenderFemale}, Languages: enSw, Hours: always,
					Channels: Channels{Phone: "0700 000 023"}, Free: true,
				},
				{
					ID: "demo-trust-shelter-kisumu", OrgID: trust, Name: "Example Safe House, Kisumu (demo)",
					Description: Text{
						EN: "A safe place to stay for adults of any gender for a few nights while we plan what comes next.",
						SW: "Mahali salama pa kukaa kwa watu wazima wa jinsia yoyote kwa siku chache tunapopanga hatua inayofuata.",
					},
					Type: TypeShelter, Counties: []string{"kisumu"}, Ages: AgesAdults,
					Languages: []string{"en", "sw", "luo"}, Hours: always,
					Channels: Channels{Phone: "0700 000 024"}, Free: true,
				},
				{
					ID: "demo-trust-livelihoods", OrgID: trust, Name: "Example Livelihoods Programme (demo)",
					Description: Text{
						EN: "Training and a small grant to start earning again.",
						SW: "Mafunzo na ruzuku ndogo ya kuanza kujipatia kipato tena.",
					},
					Type: TypeEconomicSupport, Counties: []string{"nakuru", "kisumu"}, Ages: AgesAdults,
					Languages: enSw, Hours: weekdays, Channels: Channels{Phone: "0700 000 025"},
					Cost: Text{EN: "Training is free; tools cost a small fee", SW: "Mafunzo ni bure; vifaa vina ada ndogo"},
				},
			},
		},
		{
			Slug: "example-county-childrens-office", Name: "Example County Children's Office (demo)", DirectoryOnly: true,
			Services: []Service{{
				ID: "demo-county-childrens-office", OrgID: "example-county-childrens-office", Name: "Example County Children's Office (demo)",
				Description: Text{
					EN: "The government office that protects children at risk: it can remove a child from danger and take a case to court.",
					SW: "Ofisi ya serikali inayolinda watoto walio hatarini: inaweza kumwondoa mtoto hatarini na kupeleka kesi mahakamani.",
				},
				Type: TypeChildProtection, Counties: []string{"nairobi", "mombasa", "kisumu", "nakuru", "kiambu"}, Ages: AgesChildren,
				Languages: enSw, Hours: weekdays, Channels: Channels{Phone: "0700 000 031", WalkIn: Text{EN: "County headquarters (demo)", SW: "Makao makuu ya kaunti (demo)"}},
				Free: true, ChildProtection: true,
			}},
		},
		{
			Slug: "example-hospital", Name: "Example County Hospital (demo)", DirectoryOnly: true,
			Services: []Service{{
				ID: "demo-hospital-gbvrc", OrgID: "example-hospital", Name: "Example Hospital GBV Recovery Centre (demo)",
				Description: Text{
					EN: "Post-rape care day and night: PEP, emergency contraception, treatment, counselling and the medical form (P3/PRC) for a police case.",
					SW: "Huduma baada ya ubakaji mchana na usiku: PEP, dawa ya dharura ya kuzuia mimba, matibabu, ushauri na fomu ya matibabu (P3/PRC) kwa kesi ya polisi.",
				},
				Type: TypeMedicalPEP, Counties: []string{"nairobi", "kisumu"}, Ages: AgesAll,
				Languages: enSw, Hours: always, Channels: Channels{Phone: "0700 000 032"}, Free: true,
			}},
		},
		{
			Slug: "example-police-gender-desk", Name: "Example Police Gender Desk (demo)", DirectoryOnly: true,
			Services: []Service{{
				ID: "demo-police-gender-desk", OrgID: "example-police-gender-desk", Name: "Example Police Station Gender Desk (demo)",
				Description: Text{
					EN: "Officers trained to take reports of sexual and gender violence, in a private room.",
					SW: "Maafisa waliofunzwa kupokea ripoti za ukatili wa kingono na wa kijinsia, katika chumba cha faragha.",
				},
				Type: TypePoliceDesk, Counties: []string{"nairobi", "mombasa"}, Ages: AgesAll,
				Languages: enSw, Hours: always, Channels: Channels{Phone: "0700 000 033"}, Free: true,
			}},
		},
	}
}
